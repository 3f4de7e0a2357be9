process PREPMSA_PLACE {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/../../../../environment.yml"
    container 'protfam/protfam:0.1.0'

    input:
    tuple val(meta), path(fasta)
    path frames

    output:
    tuple val(meta), path("${prefix}.afa"), emit: placed
    path "versions.yml"                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    prep-msa place $fasta --frames $frames --out ${prefix}.afa $args

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        protfam: \$(python3 -c 'import importlib.metadata as m; print(m.version("protfam"))')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.afa

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        protfam: \$(python3 -c 'import importlib.metadata as m; print(m.version("protfam"))')
    END_VERSIONS
    """
}
