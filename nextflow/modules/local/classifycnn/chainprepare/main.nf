process CLASSIFYCNN_CHAINPREPARE {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container
        ? 'docker://docker.io/protfam/protfam:0.1.0'
        : 'docker.io/protfam/protfam:0.1.0'}"

    input:
    tuple val(meta), path(families)
    path unknown

    output:
    tuple val(meta), path("${prefix}.prepared"), emit: prepared
    tuple val(meta), path("${prefix}.prepared/parts/*.json"), emit: parts
    tuple val("${task.process}"), val('protfam'), eval("python3 -c 'import sys, importlib.metadata as m; print(m.version(sys.argv[1]))' protfam"), emit: versions_protfam, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def unknown_arg = unknown ? unknown.collect { f -> "--unknown ${f}" }.join(' ') : ''
    """
    classify-cnn chain prepare ${families} --name ${meta.id} -o ${prefix}.prepared ${unknown_arg} ${args}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}.prepared/parts
    touch ${prefix}.prepared/plan.json ${prefix}.prepared/parts/${meta.id}.json
    """
}
