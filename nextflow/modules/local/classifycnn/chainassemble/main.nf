process CLASSIFYCNN_CHAINASSEMBLE {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container
        ? 'docker://docker.io/protfam/protfam:0.1.0'
        : 'docker.io/protfam/protfam:0.1.0'}"

    input:
    tuple val(meta), path(prepared), path(aligned, stageAs: 'aligned/*')

    output:
    tuple val(meta), path("${prefix}.dataset"), emit: dataset
    tuple val(meta), path("${prefix}.chunks.tsv"), emit: chunks
    tuple val("${task.process}"), val('protfam'), eval("python3 -c 'import sys, importlib.metadata as m; print(m.version(sys.argv[1]))' protfam"), emit: versions_protfam, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    classify-cnn chain assemble ${prepared} ${aligned} -o ${prefix}.dataset --chunks ${prefix}.chunks.tsv ${args}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}.dataset
    printf 'train\t0\t1\n' > ${prefix}.chunks.tsv
    """
}
