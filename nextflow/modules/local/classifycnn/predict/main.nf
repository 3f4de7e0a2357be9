process CLASSIFYCNN_PREDICT {
    tag "$meta.id"
    label 'process_low'

    conda "${moduleDir}/../../../../environment.yml"
    container 'protfam/protfam:0.1.0'

    input:
    tuple val(meta), path(fasta)
    path model

    output:
    tuple val(meta), path("${prefix}.calls.tsv"), emit: calls
    path "versions.yml"                         , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def model_arg = model ? "--model ${model}" : ''
    """
    classify-cnn predict $fasta --out ${prefix}.calls.tsv $model_arg $args

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        protfam: \$(python3 -c 'import importlib.metadata as m; print(m.version("protfam"))')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.calls.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        protfam: \$(python3 -c 'import importlib.metadata as m; print(m.version("protfam"))')
    END_VERSIONS
    """
}
