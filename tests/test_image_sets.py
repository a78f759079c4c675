"""The prepared image set: written once per model, read by every job, refused when stale."""

import pytest
import torch

from invertibility.core.errors import DataError
from invertibility.data import image_sets

MNIST = {
    "source": "mnist",
    "image_size": 28,
    "channels": 1,
    "mean": [0.1307],
    "std": [0.3081],
    "holdout_per_class": 2,
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "mlp.safetensors"
    selection = {"per_class": 1, "photos": ["coffee"], "partners": 3, "candidates": 12}
    written = image_sets.prepare(MNIST, selection, path)
    return path, selection, written


def test_round_trip_keeps_images_labels_ids_and_pixel_mapping(prepared):
    path, selection, written = prepared
    loaded = image_sets.load(path, image_sets.fingerprint(MNIST, selection))
    assert loaded.images.shape == (11, 1, 28, 28)
    assert loaded.labels.tolist() == [*range(10), -1]
    assert loaded.ids[-1] == "photo:coffee" and loaded.ids == written.ids
    torch.testing.assert_close(loaded.images, written.images)
    pixels = loaded.to_pixels(loaded.images)
    assert -1e-5 <= float(pixels[:10].min()) and float(pixels[:10].max()) <= 1 + 1e-5
    assert loaded.pool.shape == (20, 1, 28, 28) and len(loaded.pool_ids) == 20
    torch.testing.assert_close(loaded.partners, written.partners)


def test_partners_are_held_out_images_of_another_class_never_a_photo(prepared):
    _, _, images = prepared
    assert images.partners.shape == (11, 3)
    for i, row in enumerate(images.partners.tolist()):
        partner_labels = images.pool_labels[row]
        assert (partner_labels >= 0).all()  # the pool holds no photo
        if images.labels[i] >= 0:
            assert (partner_labels != images.labels[i]).all()
        assert images.ids[i] not in [images.pool_ids[j] for j in row]
        assert len(set(partner_labels.tolist())) == 3  # spread over the other classes


def test_identification_candidates_span_every_class_and_never_hold_the_image(prepared):
    _, _, images = prepared
    assert images.candidates.shape == (11, 11)  # K - 1 = 11
    for i, row in enumerate(images.candidates.tolist()):
        assert images.ids[i] not in [images.pool_ids[j] for j in row]
        assert set(images.pool_labels[row].tolist()) == set(range(10))


def test_a_file_from_another_config_is_refused_with_the_fix(prepared):
    path, selection, _ = prepared
    other = image_sets.fingerprint({**MNIST, "image_size": 32}, selection)
    with pytest.raises(DataError, match=r"were made from another config.*delete '.*mlp"):
        image_sets.load(path, other)


def test_missing_and_corrupt_files_are_named(prepared, tmp_path):
    path, selection, _ = prepared
    expected = image_sets.fingerprint(MNIST, selection)
    with pytest.raises(DataError, match=r"'.*absent.safetensors' do not exist; rerun Snakemake"):
        image_sets.load(tmp_path / "absent.safetensors", expected)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match="are unreadable"):
        image_sets.load(broken, expected)


def test_fingerprint_follows_dataset_and_selection_not_key_order():
    selection = {"per_class": 1, "photos": [], "partners": 3, "candidates": 12}
    reordered = dict(reversed(list(MNIST.items())))
    assert image_sets.fingerprint(MNIST, selection) == image_sets.fingerprint(reordered, selection)
    assert image_sets.fingerprint(MNIST, selection) != image_sets.fingerprint(
        MNIST, {**selection, "candidates": 13}
    )
