"""Fingerprints and reconstructions through the exported VAE encoders/decoders (onnxruntime only, no torch).

A fingerprint is z_mean of each channel's encoder: (n, 3, 30) with rows aa, ss, sa. Rows narrower than the model's
width are right-padded with gap columns (features.channel_matrix), exactly as in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from protfam_core.errors import InputError, ModelError
from protfam_core.features.channels import channel_matrix, channel_rows
from protfam_core.io.alphabet import CHANNEL_ORDER, CHANNELS, GAP
from protfam_core.io.fingerprints import Fingerprints
from protfam_core.ss.project import accpro_to_sa, project, row_positions

if TYPE_CHECKING:
    from protfam_core.io.placements import Placement, Query
    from protfam_core.registry.bundles import Bundle

BATCH = 512  # rows per encoder call: a 4,096-row one-hot is 146 MB, and its page faults cost more than the run


class Fingerprinter:
    """The shipped (or a named) "vae" bundle, ready to encode placed rows and decode fingerprints (onnxruntime on
    `threads` threads, 0 = all cores)."""

    def __init__(self, bundle: Bundle | str | None = None, threads: int = 0):
        from protfam_core.registry.bundles import resolve

        self.bundle = bundle if bundle is not None and not isinstance(bundle, str) else resolve(bundle, "vae")
        card = self.bundle.card
        if card.get("kind") not in (None, "vae") or "width" not in card:
            raise ModelError(f"model {self.bundle.name!r} is not a VAE bundle (kind {card.get('kind')!r})")
        self.width: int = int(card["width"])
        self.latent_dim: int = int(card.get("latent_dim", 30))
        self.threads = threads
        self._encoders: dict = {}  # sessions started on first use: the fast path encodes the aa row alone

    @cached_property
    def _decoders(self) -> dict:
        """Loaded on first use: classification never decodes, and each session costs start-up time."""
        return {ch: self.bundle.onnx(f"{ch}_decoder", self.threads) for ch in CHANNEL_ORDER}

    @property
    def model_id(self) -> str:
        """name/version of the bundle, for provenance lines in outputs."""
        return self.bundle.ref

    @property
    def ss_model(self) -> str | None:
        """The SS/SA model the VAE was trained with: features for it must come from the same one."""
        return self.bundle.card.get("params", {}).get("ss_model")

    def encode_rows(self, rows: dict[str, Sequence[str]]) -> np.ndarray:
        """(n, 3, latent) z_mean of aligned channel strings {"aa": [...], "ss": [...], "sa": [...]}."""
        n = len(rows["aa"])
        out = np.zeros((n, len(CHANNEL_ORDER), self.latent_dim), dtype=np.float32)
        for c, ch in enumerate(CHANNEL_ORDER):
            if len(rows[ch]) != n:
                raise InputError(f"{len(rows[ch])} {ch} rows for {n} sequences")
            out[:, c] = self.encode_channel(ch, rows[ch])
        return out

    def encode_channel(self, channel: str, rows: Sequence[str]) -> np.ndarray:
        """(n, latent) z_mean of one channel's aligned strings: the fast path encodes the aa row alone."""
        out = np.zeros((len(rows), self.latent_dim), dtype=np.float32)
        for start in range(0, len(rows), BATCH):
            x = channel_matrix(rows[start : start + BATCH], CHANNELS[channel], self.width)
            out[start : start + len(x)] = self._z_mean(channel, x)
        return out

    def _z_mean(self, channel: str, x: np.ndarray) -> np.ndarray:
        if channel not in self._encoders:
            self._encoders[channel] = self.bundle.onnx(f"{channel}_encoder", self.threads)
        enc = self._encoders[channel]
        result = enc.run({enc.input_names[0]: x})
        return result["z_mean"] if "z_mean" in result else result[enc.output_names[0]]

    def transform(self, placements: Sequence[Placement], ss_sa: Sequence[tuple[str, str]]) -> np.ndarray:
        """(n, 3, 30) fingerprints of placed rows; ss_sa are per raw sequence (projected here)."""
        return self.encode_rows(channel_rows(placements, ss_sa))

    def encode_queries(self, queries: Sequence[Query]) -> Fingerprints:
        """Stage 3 of the chain: the fingerprint of every candidate placement (framed rows, input order); a query with
        no candidate keeps one frame-less row. Every query needs its SS/SA (stage 2) first."""
        missing = next((q.id for q in queries if q.candidates and q.ss is None), None)
        if missing is not None:
            raise InputError(f"query {missing!r} has no SS/SA: run predict-ss on the placements first")
        placements = [p for q in queries for p in q.candidates]
        z = self.transform(placements, [(q.ss, q.sa) for q in queries for _ in q.candidates])
        width = len(CHANNEL_ORDER) * self.latent_dim
        placed = iter(z.reshape(len(z), width).astype(np.float64))
        blank = np.full(width, np.nan)
        ids, rows, frames, evalues, scores, lengths, columns, spans = [], [], [], [], [], [], [], []
        for q in queries:
            for p in q.candidates or (None,):
                ids.append(q.id)
                rows.append(next(placed) if p is not None else blank)
                frames.append(p.family if p is not None else None)
                evalues.append(p.evalue if p is not None else np.nan)
                scores.append(p.score if p is not None else np.nan)
                lengths.append(len(q.sequence) if p is not None else 0)
                columns.append(p.columns if p is not None else (0, 0))
                spans.append((p.domain, *p.span) if p is not None else (0, 0, 0))
        vectors = np.array(rows, dtype=np.float64).reshape(len(rows), width)
        evalues_, spans_ = np.array(evalues, dtype=np.float64), np.array(spans, dtype=np.int64).reshape(len(rows), 3)
        frames_ref = queries[0].frames if queries else None
        scores_, lengths_ = np.array(scores, dtype=np.float64), np.array(lengths, dtype=np.int64)
        columns_ = np.array(columns, dtype=np.int64).reshape(len(rows), 2)
        return Fingerprints(
            ids, vectors, self.model_id, tuple(frames), evalues_, spans_, frames_ref, scores_, lengths_, columns_
        )

    def decode(self, fingerprints: np.ndarray) -> dict[str, np.ndarray]:
        """Per channel (n, width, k) sigmoid outputs of the decoders for (n, 3, latent) fingerprints."""
        fingerprints = np.asarray(fingerprints, dtype=np.float32)
        if fingerprints.ndim != 3 or fingerprints.shape[1:] != (len(CHANNEL_ORDER), self.latent_dim):
            raise InputError(f"fingerprints must have shape (n, 3, {self.latent_dim}), got {fingerprints.shape}")
        out = {}
        for c, ch in enumerate(CHANNEL_ORDER):
            dec = self._decoders[ch]
            parts = [
                dec.run({dec.input_names[0]: fingerprints[s : s + BATCH, c]})[dec.output_names[0]]
                for s in range(0, len(fingerprints), BATCH)
            ]
            k = len(CHANNELS[ch])
            out[ch] = np.concatenate(parts).reshape(len(fingerprints), self.width, k)
        return out

    def decode_rows(self, fingerprints: np.ndarray, width: int | None = None) -> dict[str, list[str]]:
        """Most probable symbol per column for each channel, cut to `width` (the frame's width; default: all)."""
        width = self.width if width is None else width
        if not 0 < width <= self.width:
            raise InputError(f"width {width} is outside 1..{self.width} (the model's width)")
        probs = self.decode(fingerprints)
        rows: dict[str, list[str]] = {}
        for ch, p in probs.items():
            symbols = np.array(list(CHANNELS[ch]))
            idx = p[:, :width].argmax(axis=2)
            rows[ch] = ["".join(r) for r in symbols[idx]]
        return rows

    def reconstruct(
        self, placements: Sequence[Placement], ss_sa: Sequence[tuple[str, str]]
    ) -> list[tuple[str, str, str]]:
        """Rows back from their fingerprints: (aa, ss, sa) per placement, each as wide as the placement's row."""
        fps = self.transform(placements, ss_sa)
        rows = self.decode_rows(fps)
        return [
            (rows["aa"][i][: len(p.row)], rows["ss"][i][: len(p.row)], rows["sa"][i][: len(p.row)])
            for i, p in enumerate(placements)
        ]


def rows_from_alignment(aligned: Sequence[str], ss_sa: Sequence[tuple[str, str]] | None) -> dict[str, list[str]]:
    """Channel rows of aligned residue rows. SS/SA strings are either per residue of the row (its letters without the
    gaps; SCRATCH-1D's '-' = buried) or aligned to it (the row's width, '-' at its gaps)."""
    rows: dict[str, list[str]] = {"aa": list(aligned), "ss": [], "sa": []}
    if ss_sa is None:
        return rows
    for row, (ss, sa) in zip(aligned, ss_sa, strict=True):
        positions = row_positions(row)
        n_residues = int((positions >= 0).sum())
        for ch, text in (("ss", ss), ("sa", sa)):
            if len(text) == n_residues:
                if ch == "ss" and GAP in text:
                    raise InputError("an SS string given per residue cannot contain '-'")
                rows[ch].append(project(accpro_to_sa(text) if ch == "sa" else text, positions))
            elif len(text) == len(row):
                rows[ch].append(project(text, np.where(positions >= 0, np.arange(len(row)), -1)))
            else:
                raise InputError(
                    f"{ch.upper()} string of {len(text)} letters fits neither the row's {n_residues} residues "
                    f"nor its {len(row)} columns (insertions are not part of a row: give SS/SA of the row itself)"
                )
    return rows
