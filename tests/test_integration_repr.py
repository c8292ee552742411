"""The notebook (HTML) display links TorchLinearRegressor to its API page."""

from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr

from skorch_lite import TorchLinearRegressor

API_PAGE = (
    "https://skorch-lite.readthedocs.io/en/latest/generated/"
    "skorch_lite.TorchLinearRegressor.html"
)


def test_doc_link_points_at_the_public_api_page():
    # The public module path, not the private skorch_lite._regressor.
    assert TorchLinearRegressor()._get_doc_link() == API_PAGE


def test_html_repr_links_the_estimator_to_its_api_page():
    html = estimator_html_repr(TorchLinearRegressor(alpha=2.0))
    assert f'href="{API_PAGE}"' in html
    assert "alpha" in html


def test_html_repr_of_a_pipeline_links_each_step_to_its_own_site():
    html = make_pipeline(StandardScaler(), TorchLinearRegressor())._repr_html_()
    assert f'href="{API_PAGE}"' in html
    assert "scikit-learn.org" in html and "StandardScaler.html" in html
    assert "skorch-lite.readthedocs.io" not in html.replace(API_PAGE, "")
