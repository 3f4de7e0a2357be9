/*
 * Train a chain on a user's families and publish it (the pipeline's train mode), the work of
 * `classify-cnn easy-train` as scattered tasks: prepare (read, check, split) -> one align task per family (alignment,
 * gap rules, frame) -> assemble (the dataset) -> one annotate task per chunk of members (SS/SA) -> train (VAE, CNN,
 * calibration, fast path, evaluation: one task, the one a GPU node takes with --gpu) -> publish into the registry.
 * Every task is a `classify-cnn chain` command; -resume reuses the tasks whose inputs are unchanged.
 */

include { CLASSIFYCNN_CHAINPREPARE  } from '../../../modules/local/classifycnn/chainprepare/main'
include { CLASSIFYCNN_CHAINALIGN    } from '../../../modules/local/classifycnn/chainalign/main'
include { CLASSIFYCNN_CHAINASSEMBLE } from '../../../modules/local/classifycnn/chainassemble/main'
include { CLASSIFYCNN_CHAINANNOTATE } from '../../../modules/local/classifycnn/chainannotate/main'
include { CLASSIFYCNN_CHAINTRAIN    } from '../../../modules/local/classifycnn/chaintrain/main'
include { CLASSIFYCNN_CHAINPUBLISH  } from '../../../modules/local/classifycnn/chainpublish/main'

workflow TRAIN_CHAIN {
    take:
    ch_families // channel: [ val(meta), path(families) ], meta.id is the model name
    unknown     // path: families to call unassigned (calibration only), or []
    registry    // string: absolute path of the registry folder to publish into

    main:
    CLASSIFYCNN_CHAINPREPARE(ch_families, unknown)

    ch_parts = CLASSIFYCNN_CHAINPREPARE.out.parts
        .transpose()
        .map { _meta, part -> [[id: part.baseName], part] }
    CLASSIFYCNN_CHAINALIGN(ch_parts)

    ch_aligned = CLASSIFYCNN_CHAINALIGN.out.aligned
        .map { _meta, folder -> folder }
        .toSortedList { a, b -> a.name <=> b.name }
        .map { folders -> [folders] } // one element: combine would spread a bare list
    CLASSIFYCNN_CHAINASSEMBLE(CLASSIFYCNN_CHAINPREPARE.out.prepared.combine(ch_aligned))

    ch_chunks = CLASSIFYCNN_CHAINASSEMBLE.out.chunks
        .splitCsv(sep: '\t', elem: 1)
        .map { _meta, row -> [[id: "${row[0]}.${row[1]}"], row[0], row[1], row[2]] }
    CLASSIFYCNN_CHAINANNOTATE(ch_chunks.combine(CLASSIFYCNN_CHAINASSEMBLE.out.dataset.map { _meta, dataset -> dataset }))

    ch_annotated = CLASSIFYCNN_CHAINANNOTATE.out.annotated
        .map { _meta, npz -> npz }
        .toSortedList { a, b -> a.name <=> b.name }
        .map { chunks -> [chunks] }
    ch_train = CLASSIFYCNN_CHAINPREPARE.out.prepared
        .join(CLASSIFYCNN_CHAINASSEMBLE.out.dataset)
        .combine(ch_annotated)
    CLASSIFYCNN_CHAINTRAIN(ch_train)

    CLASSIFYCNN_CHAINPUBLISH(CLASSIFYCNN_CHAINTRAIN.out.registry, registry)

    emit:
    summary   = CLASSIFYCNN_CHAINTRAIN.out.summary      // channel: [ val(meta), path(summary.json) ]
    published = CLASSIFYCNN_CHAINPUBLISH.out.published  // channel: [ val(meta), path(published.tsv) ]
}
