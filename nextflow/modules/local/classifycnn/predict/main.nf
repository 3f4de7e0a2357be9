process CLASSIFYCNN_PREDICT {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container
        ? 'docker://docker.io/protfam/protfam:0.1.0'
        : 'docker.io/protfam/protfam:0.1.0'}"

    input:
    tuple val(meta), path(input)
    path model

    output:
    tuple val(meta), path("${prefix}.calls.tsv"), emit: calls
    tuple val("${task.process}"), val('protfam'), eval("python3 -c 'import sys, importlib.metadata as m; print(m.version(sys.argv[1]))' protfam"), emit: versions_protfam, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def model_arg = model ? "--model ${model}" : ''
    """
    classify-cnn predict ${input} --threads ${task.cpus} -o ${prefix}.calls.tsv ${model_arg} ${args}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.calls.tsv
    """
}
