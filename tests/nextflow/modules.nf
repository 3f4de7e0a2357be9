#!/usr/bin/env nextflow
/*
 * Every local module run by Nextflow on small real data (galaxy_wrappers/test-data), each on its own inputs except
 * where a module needs another's output (index -> search, predict-ss -> encode-vae, classify -> merge). Driven by
 * tests/test_nextflow_run.py, which checks what lands in --outdir (one folder per process) and versions.tsv:
 *   nextflow run tests/nextflow/modules.nf -c tests/nextflow/modules.config --outdir DIR [-stub-run]
 */

include { PREPMSA_ALIGN            } from '../../nextflow/modules/local/prepmsa/align/main'
include { PREPMSA_FILTER           } from '../../nextflow/modules/local/prepmsa/filter/main'
include { PREPMSA_PLACE            } from '../../nextflow/modules/local/prepmsa/place/main'
include { PREDICTSS_PREDICT        } from '../../nextflow/modules/local/predictss/predict/main'
include { ENCODEVAE_ENCODE         } from '../../nextflow/modules/local/encodevae/encode/main'
include { CLASSIFYCNN_PREDICT      } from '../../nextflow/modules/local/classifycnn/predict/main'
include { FINGERPRINTSEARCH_INDEX  } from '../../nextflow/modules/local/fingerprintsearch/index/main'
include { FINGERPRINTSEARCH_SEARCH } from '../../nextflow/modules/local/fingerprintsearch/search/main'
include { PROTFAM_MERGECALLS       } from '../../nextflow/modules/local/protfam/mergecalls/main'

workflow {
    main:
    def data = "${projectDir}/../../galaxy_wrappers/test-data"

    PREPMSA_ALIGN(channel.of([[id: 'family'], file("${data}/family.fasta", checkIfExists: true)]))
    PREPMSA_FILTER(channel.of([[id: 'family'], file("${data}/family.afa", checkIfExists: true)]))
    PREPMSA_PLACE(
        channel.of([[id: 'queries'], file("${data}/queries.fasta", checkIfExists: true)]),
        file("${data}/frames.hmm", checkIfExists: true)
    )

    // the stages of the pipe on the placements in the shipped classifier's frames: SS/SA, then fingerprints
    PREDICTSS_PREDICT(channel.of([[id: 'queries'], file("${data}/placements.a2m", checkIfExists: true)]), [])
    ENCODEVAE_ENCODE(PREDICTSS_PREDICT.out.placements, [])

    // two chunks of the queries, classified one task each, merged back in chunk order
    ch_chunks = channel.fromPath("${data}/queries.fasta", checkIfExists: true)
        .splitFasta(by: 2, file: true)
        .toList()
        .flatMap { chunks -> (0..<chunks.size()).collect { i -> [[id: "chunk_${i + 1}", index: i], chunks[i]] } }
    CLASSIFYCNN_PREDICT(ch_chunks, [])
    PROTFAM_MERGECALLS(
        CLASSIFYCNN_PREDICT.out.calls
            .toSortedList { a, b -> a[0].index <=> b[0].index }
            .map { pairs -> [[id: 'merged'], pairs.collect { pair -> pair[1] }] }
    )

    FINGERPRINTSEARCH_INDEX(channel.of([[id: 'authors'], file("${data}/fingerprints.tsv", checkIfExists: true)]))
    FINGERPRINTSEARCH_SEARCH(
        channel.of([[id: 'query'], file("${data}/query_fingerprint.txt", checkIfExists: true)]),
        FINGERPRINTSEARCH_INDEX.out.index.map { _meta, index -> index }
    )

    channel.topic('versions')
        .map { process, tool, version -> "${process}\t${tool}\t${version}" }
        .collectFile(name: 'versions.tsv', storeDir: params.outdir, newLine: true, sort: true)
}
