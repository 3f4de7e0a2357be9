process CLASSIFYCNN_CHAINTRAIN {
    tag "${meta.id}"
    label 'process_high'

    conda "${moduleDir}/environment.yml"
    container "${workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container
        ? 'docker://docker.io/protfam/protfam:0.1.0'
        : 'docker.io/protfam/protfam:0.1.0'}"

    input:
    tuple val(meta), path(prepared), path(dataset), path(annotated)

    output:
    tuple val(meta), path("${prefix}.trained/registry"), emit: registry
    tuple val(meta), path("${prefix}.trained/summary.json"), emit: summary
    tuple val("${task.process}"), val('protfam'), eval("python3 -c 'import sys, importlib.metadata as m; print(m.version(sys.argv[1]))' protfam"), emit: versions_protfam, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    classify-cnn chain train ${prepared} ${dataset} ${annotated} --threads ${task.cpus} -o ${prefix}.trained ${args}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}.trained/registry
    touch ${prefix}.trained/summary.json
    """
}
