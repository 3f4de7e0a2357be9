process PREPMSA_PLACE {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container
        ? 'docker://docker.io/protfam/protfam:0.1.0'
        : 'docker.io/protfam/protfam:0.1.0'}"

    input:
    tuple val(meta), path(fasta)
    path frames

    output:
    tuple val(meta), path("${prefix}.a2m"), emit: placements
    tuple val("${task.process}"), val('protfam'), eval("python3 -c 'import sys, importlib.metadata as m; print(m.version(sys.argv[1]))' protfam"), emit: versions_protfam, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def frames_arg = frames ? "--frames ${frames}" : ''
    """
    prep-msa place ${fasta} --threads ${task.cpus} ${frames_arg} -o ${prefix}.a2m ${args}
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.a2m
    """
}
