"""reftrace rules for protfam's Nextflow modules: `reftrace lint -r nextflow/lint/reftrace_rules.py -d nextflow`.

Every process must be runnable on any executor profile and traceable in a run report, so each one declares a
`tag` (which input a task is), exactly one nf-core resource `label` (conf/base.config sizes it), a `container`
(docker/singularity profiles) and a `conda` environment (conda profile). reftrace injects Module, LintError,
LintResults and `rule` into this file's namespace when it loads it; importing them keeps the file lintable too.
"""

from reftrace import Module
from reftrace.linting import LintError, LintResults, rule

RESOURCE_LABELS = {"process_single", "process_low", "process_medium", "process_high", "process_long"}


@rule
def has_tag(module: Module, results: LintResults) -> None:
    for process in module.processes:
        if not process.tags:
            results.errors.append(LintError(line=process.line, error=f"process '{process.name}' has no tag"))


@rule
def has_one_resource_label(module: Module, results: LintResults) -> None:
    for process in module.processes:
        labels = [label.label for label in process.labels if label.label in RESOURCE_LABELS]
        if len(labels) != 1:
            results.errors.append(
                LintError(line=process.line, error=f"process '{process.name}' needs one resource label, has {labels}")
            )


@rule
def has_container(module: Module, results: LintResults) -> None:
    for process in module.processes:
        if not process.containers:
            results.errors.append(LintError(line=process.line, error=f"process '{process.name}' has no container"))


@rule
def has_conda(module: Module, results: LintResults) -> None:
    for process in module.processes:
        if not process.condas:
            results.errors.append(LintError(line=process.line, error=f"process '{process.name}' has no conda env"))
