/*
 * Family calls for each FASTA chunk. Today one process per chunk runs the whole chain (`classify-cnn predict`: frame
 * search, SS/SA, VAE fingerprints, CNN). When the stage tools compose (issue 14: place -> predict-ss -> encode-vae ->
 * classify), their processes go here in place of CLASSIFYCNN_PREDICT; main.nf only sees `take:` and `emit:`.
 */

include { CLASSIFYCNN_PREDICT } from '../../../modules/local/classifycnn/predict/main'

workflow CLASSIFY_CHUNKS {
    take:
    ch_chunks // channel: [ val(meta), path(fasta) ], meta.id names the chunk, meta.index is its input position
    model     // path: CNN bundle folder, or [] for the shipped default

    main:
    CLASSIFYCNN_PREDICT(ch_chunks, model)

    emit:
    calls = CLASSIFYCNN_PREDICT.out.calls // channel: [ val(meta), path(calls.tsv) ], one per chunk
}
