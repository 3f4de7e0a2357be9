process PREDICTSS_PREDICT {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/../../../../environment.yml"
    container 'protfam/protfam:0.1.0'

    input:
    tuple val(meta), path(fasta)
    path model

    output:
    tuple val(meta), path("${prefix}.ss"), path("${prefix}.sa"), emit: ss_sa
    path "versions.yml"                                         , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def model_arg = model ? "--model ${model}" : ''
    """
    predict-ss predict $fasta --format ss --out ${prefix}.ss $model_arg $args
    predict-ss predict $fasta --format sa --out ${prefix}.sa $model_arg $args

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        protfam: \$(python3 -c 'import importlib.metadata as m; print(m.version("protfam"))')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.ss ${prefix}.sa

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        protfam: \$(python3 -c 'import importlib.metadata as m; print(m.version("protfam"))')
    END_VERSIONS
    """
}
