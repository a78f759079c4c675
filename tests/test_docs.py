"""The README and docs name files that exist: every repository path in backticks or in a link
(placeholders such as ``{model}`` and globs aside), so that a moved file is caught here."""

import re

import pytest
from conftest import ROOT

TOP = (
    "src/",
    "docs/",
    "config/",
    "workflow/",
    "rules/",
    "scripts/",
    "bench/",
    "studies/",
    "tools/",
    "tests/",
    "profiles/",
    "envs/",
    ".ci/",
)
DOCUMENTS = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *(ROOT / folder / "README.md" for folder in ("bench", "studies", "tools", "scripts")),
]


def named_paths(text: str) -> set[str]:
    quoted = {token.split()[0] for token in re.findall(r"`([^`\n]+)`", text) if token.strip()}
    linked = set(re.findall(r"\]\(([^)#\s]+)", text))
    found = set()
    for token in quoted | linked:
        token = token.removeprefix("../").removeprefix(".venv/bin/python ").rstrip(".,:;")
        if token.startswith(TOP) or token in ("config.yaml", "Snakefile", "pyproject.toml"):
            if not re.search(r"[{}*<>]|\.\.\.", token):
                found.add(token)
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_named_path_exists(document):
    named = named_paths(document.read_text())  # paths from the repository root, docs' too
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"{document.name} names paths that do not exist: {missing}"


def test_the_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    assert "bash scripts/setup.sh && .venv/bin/snakemake --cores 2" in block
    assert ".venv/bin/python -m pytest -q" in block
    # the smoke run is the tests' own tiny config, in a folder git ignores
    assert "--configfile config/test.yaml --directory smoke" in block
    assert "smoke/" in (ROOT / ".gitignore").read_text().split()
    assert (ROOT / "scripts" / "setup.sh").is_file()


def test_the_check_sees_a_missing_path():
    assert named_paths("see `docs/nowhere.md` and [x](docs/method.md), `results/{model}`") == {
        "docs/nowhere.md",
        "docs/method.md",
    }


def dotted_names(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w/])invertibility\.([a-z_]+(?:\.[A-Za-z_]+)*)", text))


def stale_names(text: str) -> list[str]:
    """The dotted names (``invertibility.analysis.measures``, ``...claims.KINDS``) that are
    neither a module of the package nor a name defined at the top of one."""
    from invertibility.core.provenance import module_file

    package = ROOT / "src" / "invertibility"
    stale = []
    for name in dotted_names(text):
        parts = name.split(".")
        found = [k for k in range(len(parts), 0, -1) if module_file(package, ".".join(parts[:k]))]
        if not found:
            stale.append(name)
            continue
        source = module_file(package, ".".join(parts[: found[0]])).read_text()
        rest = parts[found[0] :]
        pattern = rf"^(def|class) {rest[0]}\b|^{rest[0]}\s*[:=]" if rest else ""
        if rest and not re.search(pattern, source, re.M):
            stale.append(name)
    return sorted(stale)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_named_module_exists(document):
    stale = stale_names(document.read_text())
    assert not stale, f"{document.name} names what the package lacks: {stale}"


def test_a_stale_module_name_is_caught():
    text = "`invertibility.analysis.measures`, `invertibility.models`, `invertibility.figures.NOPE`"
    assert stale_names(text) == ["figures.NOPE", "models"]


def backticked_words(text: str) -> set[str]:
    """Every name inside a backtick span (which may wrap a line), a span such as
    `model, seed, layer` giving each."""
    spans = re.findall(r"`([^`]+)`", text)
    return {word for span in spans for word in re.split(r"[\s,/()\[\]=:]+", span) if word}


def documented_tables():
    """Each typed table the pipeline writes, with its columns, as the code declares them."""
    from invertibility.analysis import horizons, predictors, tables
    from invertibility.analysis.claims import CLAIM_COLUMNS, sensitivity
    from invertibility.analysis.retention import WINDOW_COLUMNS
    from invertibility.analysis.seed_plan import PLAN_COLUMNS
    from invertibility.jobs import augmentation_job, diagnostics_job, judge_job, train_job
    from invertibility.methods import block_probe, distances, training, window_retention

    return {
        "invertibility": tables.INVERTIBILITY_COLUMNS,
        "distances": distances.DISTANCE_COLUMNS,
        "horizons_by_seed": horizons.HORIZON_BY_SEED_COLUMNS,
        "horizons": horizons.HORIZON_COLUMNS,
        "predictors": predictors.PREDICTOR_COLUMNS,
        "claims": CLAIM_COLUMNS,
        "sensitivity": sensitivity.COLUMNS,
        "seed_plan": PLAN_COLUMNS,
        "training": training.TRAINING_COLUMNS,
        "blocks": block_probe.BLOCK_COLUMNS,
        "gradients": train_job.GRADIENT_COLUMNS,
        "weights": diagnostics_job.WEIGHT_COLUMNS,
        "similarity": diagnostics_job.SIMILARITY_COLUMNS,
        "judged": judge_job.JUDGED_COLUMNS,
        "augmentation": augmentation_job.AUGMENTATION_COLUMNS,
        "augmentation_drift": augmentation_job.DRIFT_COLUMNS,
        "augmentation_similarity": window_retention.COLUMNS,
        "augmentation_windows": WINDOW_COLUMNS,
    }


@pytest.mark.parametrize("table", list(documented_tables()))
def test_outputs_md_names_every_column(table):
    """docs/outputs.md promises every column: each column the code declares for a table is
    named there (in backticks), so a column added to the code and not to the page fails here."""
    named = backticked_words((ROOT / "docs" / "outputs.md").read_text())
    missing = [column for column in documented_tables()[table] if column not in named]
    assert not missing, f"docs/outputs.md does not name {table}'s columns {missing}"


def test_method_md_lists_every_figure_kind():
    from invertibility.figures import KINDS

    text = (ROOT / "docs" / "method.md").read_text()
    kinds = text[text.index("The kinds:") :].split("\n\n")[0]
    assert not [kind for kind in KINDS if f"`{kind}`" not in kinds]


def test_the_readme_quotes_the_overlays_seed_counts():
    """The README's "Bigger runs" rows quote how many seeds each overlay trains; they follow the
    overlay files (a changed overlay with an unchanged README fails here)."""
    import yaml

    readme = (ROOT / "README.md").read_text()
    verdicts = yaml.safe_load((ROOT / "config" / "verdicts.yaml").read_text())["models"]
    mlps = {len(verdicts[m]["seeds"]) for m in ("mlp", "mlp_wide")}
    convs = {len(verdicts[m]["seeds"]) for m in ("alexnet", "resnet18_nobn")}
    assert len(mlps) == len(convs) == 1
    assert f"({mlps.pop()} seeds per MLP, {convs.pop()} per conv net)" in readme
    augmentation = yaml.safe_load((ROOT / "config" / "augmentation.yaml").read_text())
    seeds = len(augmentation["models"]["mlp_aug"]["seeds"])
    heads = sum(len(run["arms"]) for run in augmentation["experiments"]["augmentation"]["runs"])
    assert f"verdict-grade run ({seeds} seeds," in readme
    assert f"each seed's job trains {heads} heads" in readme


@pytest.mark.parametrize("config", ["config.yaml", "config/ablations.yaml"])
def test_the_gallery_shows_every_figure_with_its_caption(config):
    """docs/gallery.md has each figure of the default and ablations configs under its name, with
    the caption its kind's code gives it (one source: a caption changed in the code and not in
    the gallery fails here), and the default run's figures with their image."""
    import yaml

    from invertibility.figures import KINDS

    gallery = (ROOT / "docs" / "gallery.md").read_text()
    quoted = " ".join(
        line.removeprefix("> ") for line in gallery.splitlines() if line.startswith("> ")
    )
    figures = yaml.safe_load((ROOT / config).read_text())["figures"]
    for name, entry in figures.items():
        assert f"(`{name}`)" in gallery, name
        caption = KINDS[entry.get("kind", "image_grid")].caption_of(name)
        assert " ".join(caption.split()) in quoted, f"{name}: the gallery's caption differs"
        if config == "config.yaml":
            assert f"(gallery/{name}.png)" in gallery, name
            assert (ROOT / "docs" / "gallery" / f"{name}.png").is_file(), name


def test_the_version_is_one_in_pyproject_citation_and_changelog():
    # read with a pattern, not tomllib: the README promises Python 3.10, which has none
    pyproject = (ROOT / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert f'version: "{version}"' in (ROOT / "CITATION.cff").read_text()
    newest = re.search(r"^## (\S+):", (ROOT / "CHANGELOG.md").read_text(), re.M).group(1)
    assert newest == version
