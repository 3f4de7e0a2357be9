process PROTFAM_MERGECALLS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "${workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container
        ? 'docker://docker.io/protfam/protfam:0.1.0'
        : 'docker.io/protfam/protfam:0.1.0'}"

    input:
    tuple val(meta), path(calls)

    output:
    tuple val(meta), path("${prefix}.tsv"), emit: calls
    tuple val("${task.process}"), val('awk'), eval("awk -W version 2>&1 | head -n 1 | grep -o -E '[0-9]+([.][0-9]+)+' | head -n 1"), emit: versions_awk, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    awk 'NR == FNR || !/^(#|query_id\t)/' ${calls} > ${prefix}.tsv
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.tsv
    """
}
