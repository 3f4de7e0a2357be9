process FINGERPRINTSEARCH_SEARCH {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/../../../../environment.yml"
    container 'protfam/protfam:0.1.0'

    input:
    tuple val(meta), path(queries)
    path index

    output:
    tuple val(meta), path("${prefix}.hits.tsv"), emit: hits
    path "versions.yml"                        , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    fingerprint-search search $queries --index $index --out ${prefix}.hits.tsv $args

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        protfam: \$(python3 -c 'import importlib.metadata as m; print(m.version("protfam"))')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.hits.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        protfam: \$(python3 -c 'import importlib.metadata as m; print(m.version("protfam"))')
    END_VERSIONS
    """
}
