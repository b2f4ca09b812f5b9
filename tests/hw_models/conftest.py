import pytest

from hw_models import COST_MODELS, HW_PATH_ENV


@pytest.fixture
def clean_registry(monkeypatch):
    """Plug-ins registered inside a test vanish after it (the registry is process-global)."""
    snapshot = COST_MODELS.snapshot()
    COST_MODELS.plugins.entry_points_loaded = False
    monkeypatch.delenv(HW_PATH_ENV, raising=False)
    yield
    COST_MODELS.restore(snapshot)


@pytest.fixture(scope="session")
def resnet18_layers():
    """torchvision ResNet-18 at 224x224, extracted once for every test that needs it."""
    import torchvision

    from hw_models import extract_layers

    return extract_layers(torchvision.models.resnet18(), (1, 3, 224, 224))
