/*
 * Family calls for each FASTA chunk, by the four stage tools as four processes (the pipe of the command line:
 * prep-msa place | predict-ss predict | encode-vae encode | classify-cnn predict). Each stage's file is the next
 * one's input, so a cluster spreads every stage of every chunk; the calls equal `classify-cnn predict` on the chunk.
 * The frames, SS and VAE models are the ones the shipped classifier was trained with; `model` replaces the CNN only.
 * With `fast` each chunk is one `classify-cnn predict` task on the raw FASTA (ext.args carries the flags): with
 * --fast, the fast path answers the queries it is sure of and runs the chain for the rest inside the same task; with
 * --registry and --model NAME, the whole chain of NAME (its own frames, VAE and SS model) runs in that task.
 */

include { PREPMSA_PLACE       } from '../../../modules/local/prepmsa/place/main'
include { PREDICTSS_PREDICT   } from '../../../modules/local/predictss/predict/main'
include { ENCODEVAE_ENCODE    } from '../../../modules/local/encodevae/encode/main'
include { CLASSIFYCNN_PREDICT } from '../../../modules/local/classifycnn/predict/main'

workflow CLASSIFY_CHUNKS {
    take:
    ch_chunks // channel: [ val(meta), path(fasta) ], meta.id names the chunk, meta.index is its input position
    model     // path: CNN bundle folder, or [] for the shipped default
    fast      // boolean: one `classify-cnn predict` task per chunk (--fast, or a registry model) instead of the four stages

    main:
    if (fast) {
        CLASSIFYCNN_PREDICT(ch_chunks, model)
    }
    else {
        PREPMSA_PLACE(ch_chunks, [])
        PREDICTSS_PREDICT(PREPMSA_PLACE.out.placements, [])
        ENCODEVAE_ENCODE(PREDICTSS_PREDICT.out.placements, [])
        CLASSIFYCNN_PREDICT(ENCODEVAE_ENCODE.out.fingerprints, model)
    }

    emit:
    calls = CLASSIFYCNN_PREDICT.out.calls // channel: [ val(meta), path(calls.tsv) ], one per chunk
}
