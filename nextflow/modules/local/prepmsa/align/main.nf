process PREPMSA_ALIGN {
    tag "$meta.id"
    label 'process_low'

    conda "${moduleDir}/../../../../environment.yml"
    container 'protfam/protfam:0.1.0'

    input:
    tuple val(meta), path(fasta)

    output:
    tuple val(meta), path("${prefix}.afa"), emit: alignment
    path "versions.yml"                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    prep-msa align $fasta --threads $task.cpus --out ${prefix}.afa $args

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
