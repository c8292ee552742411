"""Device selection: what each device name means, checked without a GPU."""

import pytest
import torch

from skorch_lite._devices import best_available_device, resolve_device


def test_cpu_and_torch_device_objects():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_auto_prefers_the_data_device():
    assert resolve_device("auto", data_device=torch.device("cpu")) == torch.device("cpu")


def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch):
    import skorch_lite._devices as devices

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert best_available_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: True)
    assert best_available_device() == torch.device("mps")
    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_cuda_index_beyond_the_device_count(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match="only 1 CUDA device"):
        resolve_device("cuda:1")


def test_mps_unavailable(monkeypatch):
    import skorch_lite._devices as devices

    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    with pytest.raises(ValueError, match="MPS"):
        resolve_device("mps")


@pytest.mark.parametrize("bad", ["gpu", "cuda0", "", "CPU", 7])
def test_malformed_device_specs(bad):
    with pytest.raises((ValueError, TypeError), match="device"):
        resolve_device(bad)
