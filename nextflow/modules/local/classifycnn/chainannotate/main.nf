process CLASSIFYCNN_CHAINANNOTATE {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container
        ? 'docker://docker.io/protfam/protfam:0.1.0'
        : 'docker.io/protfam/protfam:0.1.0'}"

    input:
    tuple val(meta), val(split), val(start), val(end), path(dataset)

    output:
    tuple val(meta), path("${prefix}.npz"), emit: annotated
    tuple val("${task.process}"), val('protfam'), eval("python3 -c 'import sys, importlib.metadata as m; print(m.version(sys.argv[1]))' protfam"), emit: versions_protfam, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    classify-cnn chain annotate ${dataset} --split ${split} --start ${start} --end ${end} --threads ${task.cpus} -o ${prefix}.npz ${args}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.npz
    """
}
