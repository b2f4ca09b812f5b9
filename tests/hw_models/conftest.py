import pytest

from hw_models import COST_MODELS, _plugins


@pytest.fixture
def clean_registry(monkeypatch):
    """Plug-ins registered inside a test vanish after it (the registry is process-global)."""
    entries = dict(COST_MODELS._entries)
    descriptions = dict(COST_MODELS._descriptions)
    monkeypatch.setattr(_plugins, "_sources", dict(_plugins._sources))
    monkeypatch.setattr(_plugins, "_instances", dict(_plugins._instances))
    monkeypatch.setattr(_plugins, "_scanned_dirs", set(_plugins._scanned_dirs))
    monkeypatch.setattr(_plugins, "_entry_points_loaded", False)
    monkeypatch.delenv(_plugins.HW_PATH_ENV, raising=False)
    yield
    COST_MODELS._entries.clear()
    COST_MODELS._entries.update(entries)
    COST_MODELS._descriptions.clear()
    COST_MODELS._descriptions.update(descriptions)


@pytest.fixture(scope="session")
def resnet18_layers():
    """torchvision ResNet-18 at 224x224, extracted once for every test that needs it."""
    import torchvision

    from hw_models import extract_layers

    return extract_layers(torchvision.models.resnet18(), (1, 3, 224, 224))
