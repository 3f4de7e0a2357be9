#!/usr/bin/env nextflow
/*
 * protfam: family calls for raw protein sequences, scattered over FASTA chunks.
 *
 *   nextflow run nextflow/main.nf -profile local,docker --input proteins.fasta --outdir results
 *
 * The FASTA is split into chunks of --chunk_size sequences; CLASSIFY_CHUNKS (subworkflows/local/classify_chunks)
 * classifies each chunk as its own task(s), so a cluster profile spreads the chunks over nodes; the calls are merged
 * back in input order into <outdir>/family_calls.tsv. Tool versions (the `versions` topic of every module) land in
 * <outdir>/pipeline_info/software_versions.yml.
 */

include { CLASSIFY_CHUNKS    } from './subworkflows/local/classify_chunks/main'
include { PROTFAM_MERGECALLS } from './modules/local/protfam/mergecalls/main'

workflow {
    main:
    if (!params.input) {
        error "Give the proteins to classify: --input proteins.fasta"
    }
    ch_model = params.model ? file(params.model, checkIfExists: true) : []

    ch_chunks = channel.fromPath(params.input, checkIfExists: true)
        .splitFasta(by: params.chunk_size, file: true)
        .toList()
        .flatMap { chunks -> (0..<chunks.size()).collect { i -> [[id: "chunk_${i + 1}", index: i], chunks[i]] } }

    CLASSIFY_CHUNKS(ch_chunks, ch_model, params.fast)

    ch_ordered = CLASSIFY_CHUNKS.out.calls
        .toSortedList { a, b -> a[0].index <=> b[0].index }
        .map { pairs -> [[id: 'family_calls'], pairs.collect { pair -> pair[1] }] }

    PROTFAM_MERGECALLS(ch_ordered)

    channel.topic('versions')
        .map { process, tool, version -> [process.tokenize(':')[-1], tool, version.toString().trim()] }
        .unique()
        .toList()
        .map { rows -> versionsYaml(rows) }
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info")
}

// One key per process and per tool (a tool reported with several versions gets them joined), sorted.
def versionsYaml(rows) {
    def byProcess = rows.groupBy { row -> row[0] }.sort()
    def blocks = byProcess.collect { process, entries ->
        def byTool = entries.groupBy { row -> row[1] }.sort()
        def lines = byTool.collect { tool, same -> "    ${tool}: '${same.collect { row -> row[2] }.unique().sort().join(', ')}'" }
        ("${process}:\n" + lines.join('\n'))
    }
    return blocks.join('\n') + '\n'
}
