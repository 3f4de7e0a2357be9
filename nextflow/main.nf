#!/usr/bin/env nextflow
/*
 * protfam: family calls for raw protein sequences, scattered over FASTA chunks.
 *
 *   nextflow run nextflow/main.nf -profile local,docker --input proteins.fasta --outdir results
 *
 * Each chunk runs `classify-cnn predict` (frame search, SS/SA, VAE fingerprints, CNN) on its own task, so a cluster
 * profile spreads the chunks over nodes; the calls are merged back in input order into <outdir>/family_calls.tsv.
 */

include { CLASSIFYCNN_PREDICT } from './modules/local/classifycnn/predict/main'
include { PROTFAM_MERGECALLS  } from './modules/local/protfam/mergecalls/main'

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

    CLASSIFYCNN_PREDICT(ch_chunks, ch_model)

    ch_ordered = CLASSIFYCNN_PREDICT.out.calls
        .toSortedList { a, b -> a[0].index <=> b[0].index }
        .map { pairs -> [[id: 'family_calls'], pairs.collect { pair -> pair[1] }] }

    PROTFAM_MERGECALLS(ch_ordered)

    CLASSIFYCNN_PREDICT.out.versions
        .mix(PROTFAM_MERGECALLS.out.versions)
        .unique()
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info")
}
