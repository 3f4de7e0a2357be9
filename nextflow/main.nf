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
 *
 * --mode train trains a chain on a user's families instead (TRAIN_CHAIN: subworkflows/local/train_chain) and
 * publishes it into the registry folder --registry as --name; --registry DIR --model NAME then classifies with it:
 *
 *   nextflow run nextflow/main.nf --mode train --families my_families/ --name my-fams --registry /data/registry
 *   nextflow run nextflow/main.nf --input proteins.fasta --registry /data/registry --model my-fams
 */

include { CLASSIFY_CHUNKS    } from './subworkflows/local/classify_chunks/main'
include { TRAIN_CHAIN        } from './subworkflows/local/train_chain/main'
include { PROTFAM_MERGECALLS } from './modules/local/protfam/mergecalls/main'

workflow {
    main:
    if (params.registry && !params.registry.startsWith('/')) {
        error "Give --registry as an absolute path: every task resolves it from its own folder"
    }
    if (params.mode == 'train') {
        TRAIN()
    }
    else if (params.mode == 'classify') {
        // Classify --input in chunks; with --registry, --model names a chain there and each chunk is one
        // classify-cnn predict (the whole chain of that model in one task).
        if (!params.input) {
            error "Give the proteins to classify: --input proteins.fasta"
        }
        ch_model = params.model && !params.registry ? file(params.model, checkIfExists: true) : []

        ch_chunks = channel.fromPath(params.input, checkIfExists: true)
            .splitFasta(by: params.chunk_size, file: true)
            .toList()
            .flatMap { chunks -> (0..<chunks.size()).collect { i -> [[id: "chunk_${i + 1}", index: i], chunks[i]] } }

        CLASSIFY_CHUNKS(ch_chunks, ch_model, params.fast || (params.registry && params.model))

        ch_ordered = CLASSIFY_CHUNKS.out.calls
            .toSortedList { a, b -> a[0].index <=> b[0].index }
            .map { pairs -> [[id: 'family_calls'], pairs.collect { pair -> pair[1] }] }

        PROTFAM_MERGECALLS(ch_ordered)
    }
    else {
        error "Unknown --mode ${params.mode}: classify or train"
    }

    channel.topic('versions')
        .map { process, tool, version -> [process.tokenize(':')[-1], tool, version.toString().trim()] }
        .unique()
        .toList()
        .map { rows -> versionsYaml(rows) }
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info")
}

// Train a chain on --families and publish it as --name into --registry.
workflow TRAIN {
    main:
    if (!params.families || !params.name || !params.registry) {
        error "Give the families, the model's name and the registry: --families DIR --name NAME --registry /abs/dir"
    }
    ch_families = channel.value([[id: params.name], file(params.families, checkIfExists: true)])
    ch_unknown = params.unknown ? file(params.unknown, checkIfExists: true) : []
    TRAIN_CHAIN(ch_families, ch_unknown, params.registry)
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
