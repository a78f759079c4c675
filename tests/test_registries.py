"""Contract tests for the architecture and dataset-source registries: every entry, iterated, keeps
the promises the planner and the jobs rely on. (The claim, figure and measure registries have
theirs in test_calibration.py, test_figures.py and test_tables.py.) A new entry that breaks one
fails here by name; a new source without a small spec below fails too."""

import copy

import numpy as np
import pytest
import skimage.data
import torch
from conftest import ROOT, load_config
from PIL import Image

from invertibility.core.errors import ConfigError
from invertibility.data.sources import SOURCES
from invertibility.methods.block_probe import diagnostic_blocks
from invertibility.nets.models import (
    ARCHITECTURES,
    build_model,
    forward_calls,
    layer_depth,
    layer_names,
    parameters_up_to,
    smallest_input_size,
)
from invertibility.nets.taps import Tap
from invertibility.planning.plan import Plan

# each architecture at a small input of its usual kind (an MLP reads digits, the conv nets photos)
SMALL_INPUT = {"mlp": (1, 28, 28)}
CLASSES = 7


def small_network(name, seed=0):
    shape = SMALL_INPUT.get(name, (3, 32, 32))
    size = smallest_input_size(name, CLASSES, shape, hidden=[24, 12])
    shape = shape if size is None else (shape[0], size, size)
    torch.manual_seed(seed)
    model = build_model(name, CLASSES, shape, hidden=[24, 12]).eval()
    return model, shape


def recorded_outputs(model, x):
    """Every module's output in one whole forward pass (the reference a tap must equal)."""
    outputs, handles = {}, []
    for name, module in model.named_modules():
        if name:
            hook = lambda _m, _i, out, name=name: outputs.__setitem__(name, out.clone())  # noqa: E731
            handles.append(module.register_forward_hook(hook))
    logits = model(x)
    for handle in handles:
        handle.remove()
    return logits, outputs


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_taps_every_layer_as_the_whole_pass_computes_it(name):
    model, shape = small_network(name)
    calls = forward_calls(name, CLASSES, shape, hidden=[24, 12])
    x = torch.randn(2, *shape)
    with torch.no_grad():
        logits, outputs = recorded_outputs(model, x)
        assert logits.shape == (2, CLASSES) and torch.isfinite(logits).all()
        for layer in layer_names(model):
            if calls[layer] == 1:  # a module run twice is refused by the config check (below)
                torch.testing.assert_close(Tap(model, layer)(x), outputs[layer], msg=layer)


def leaves(model):
    return [name for name, module in model.named_modules() if name and not any(module.children())]


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_orders_its_layers_and_parameters_as_the_forward_pass(name):
    model, _ = small_network(name)
    layers = leaves(model)
    depths = [layer_depth(model, layer) for layer in layers]
    assert depths == sorted(depths) and depths[-1] > 1
    # the last layer depends on every parameter, each layer on those of the layers before it
    everything = [parameter for parameter, _ in model.named_parameters()]
    assert set(parameters_up_to(model, layers[-1])) == set(everything)
    previous = set()
    for layer in layers:
        current = set(parameters_up_to(model, layer))
        assert previous <= current, layer
        previous = current
    assert set(diagnostic_blocks(model)) <= set(layer_names(model))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_builds_the_same_network_under_the_same_seed_and_refuses_options(name):
    first, _ = small_network(name, seed=3)
    again, _ = small_network(name, seed=3)
    other, _ = small_network(name, seed=4)
    for (key, a), b in zip(first.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), key
    pairs = zip(first.parameters(), other.parameters(), strict=True)
    assert any(not torch.equal(a, c) for a, c in pairs)
    with pytest.raises(ConfigError, match="do not apply to architecture"):
        build_model(name, CLASSES, SMALL_INPUT.get(name, (3, 32, 32)), [24], {"no_such": 1})


def test_a_layer_that_runs_twice_in_a_forward_pass_is_refused_by_name(test_config):
    """torchvision's residual block applies its one ``relu`` twice: tapping it would return the
    first call's output, which is not the block's; the config check names the layer instead."""
    calls = forward_calls("resnet18_nobn", 10, (3, 32, 32))
    assert calls["layer1.0.relu"] == 2 and calls["layer1.0"] == 1
    config = copy.deepcopy(test_config)
    config["models"]["resnet18_nobn"]["layers"]["twice"] = "layer1.0.relu"
    with pytest.raises(ConfigError, match=r"layers.twice: layer 'layer1.0.relu' runs 2 times"):
        Plan(config)


def photo_folder(root):
    """Two classes of real photos: three training images and one held-out image each."""
    for name in ("coffee", "rocket"):
        image = getattr(skimage.data, name)()
        for split, count in (("train", 3), ("holdout", 1)):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                variant = np.ascontiguousarray(np.roll(image, 7 * i + 31 * (split == "holdout"), 1))
                Image.fromarray(variant).convert("RGB").save(root / split / name / f"{i}.png")
    return root


def source_spec(name, tmp_path):
    """A small dataset entry per source; a source added without one fails the contract."""
    if name == "mnist":
        return load_config(ROOT / "config" / "test.yaml")["datasets"]["mnist"]
    if name == "imagefolder":
        root = photo_folder(tmp_path)
        return {
            "source": "imagefolder",
            "root": str(root / "train"),
            "holdout_root": str(root / "holdout"),
            "train_size": 6,
            "num_classes": 2,
            "image_size": 32,
            "channels": 3,
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
        }
    pytest.fail(f"dataset source {name!r} has no small spec in tests/test_registries.py")


@pytest.mark.parametrize("name", list(SOURCES))
def test_every_source_delivers_what_it_declares_and_never_holds_out_a_training_image(
    name, tmp_path
):
    source, spec = SOURCES[name], source_spec(name, tmp_path)
    source.check(spec, f"datasets.{name}")
    shape = (spec["channels"], spec["image_size"], spec["image_size"])
    training = source.training_set(spec)
    assert len(training) == source.train_size(spec)
    train_images = torch.stack([training[i][0] for i in range(len(training))])
    train_labels = {int(training[i][1]) for i in range(len(training))}
    assert train_images.shape[1:] == shape
    assert train_labels <= set(range(source.num_classes(spec)))
    holdout = source.holdout_set(spec)
    assert holdout.images.shape[1:] == shape and len(set(holdout.ids)) == len(holdout.ids)
    labels, counts = np.unique(holdout.labels.numpy(), return_counts=True)
    assert dict(zip(labels.tolist(), counts.tolist(), strict=True)) == source.holdout_counts(spec)
    # held out means never trained on: no held-out image equals a training image
    flat_train = train_images.flatten(1)
    for image in holdout.images.flatten(1):
        assert not (flat_train == image).all(dim=1).any()


def test_a_per_seed_split_delivers_three_disjoint_parts_and_trains_on_its_own():
    """The mnist source's `split`: per seed, train / validation / held out, disjoint, of the
    sizes asked; its training set is the train part in the same order (what the train rule and
    the augmentation experiment read), its held-out set the held-out part, and another seed
    draws another split."""
    from invertibility.data import datasets
    from invertibility.data.sources.mnist import IMAGES

    spec = {**source_spec("mnist", None), "split": {"train": 300, "validation": 100}}
    parts = datasets.split_parts({**spec, "split_seed": 4})
    assert [len(parts[p][1]) for p in ("train", "validation", "held_out")] == [
        300,
        100,
        IMAGES - 400,
    ]
    flat = {name: images.flatten(1) for name, (images, _) in parts.items()}
    for a, b in [("train", "validation"), ("train", "held_out"), ("validation", "held_out")]:
        assert not (flat[a][:, None, :] == flat[b][None, :50, :]).all(-1).any(), (a, b)
    training = datasets.training_set({**spec, "split_seed": 4})
    assert len(training) == datasets.train_size(spec) == 300
    assert torch.equal(torch.stack([training[i][0] for i in range(300)]), parts["train"][0])
    assert torch.equal(datasets.holdout_set({**spec, "split_seed": 4}).images, parts["held_out"][0])
    other = datasets.split_parts({**spec, "split_seed": 5})
    assert not torch.equal(other["train"][1], parts["train"][1])


def test_every_experiment_family_is_a_planning_module_with_its_schema_section_and_its_job():
    """A family (planning.experiments.FAMILIES): its config section in the schema, its checks,
    its jobs' tables and claims, and its job in the jobs registry."""
    from test_configs import schema

    from invertibility.jobs.call import JOBS, job_function
    from invertibility.planning.experiments import FAMILIES

    assert sorted(schema()["properties"]["experiments"]["properties"]) == sorted(FAMILIES)
    for name, module in FAMILIES.items():
        assert module.FAMILY == name and callable(module.check)
        assert {"tables", "claims", "spec", "seeds"} <= set(vars(module.Jobs))
        assert name in JOBS and callable(job_function(name))
        assert (ROOT / "rules" / f"{name}.smk").is_file()
        assert f'include: "rules/{name}.smk"' in (ROOT / "Snakefile").read_text()
