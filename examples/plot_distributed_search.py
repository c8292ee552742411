"""
Grid search on a dask cluster
=============================

scikit-learn runs the fits of a search through :mod:`joblib`; with
``joblib.parallel_config(backend="dask")`` they run on the workers of a
:mod:`dask.distributed` cluster instead of local processes, with no change
to the estimator or the search. This example starts a small cluster on this
machine (two worker processes, one thread each, listening on 127.0.0.1
only), runs a grid search over
:class:`~skorch_lite.TorchLinearRegressor` on it, checks that the result
equals the local run, and closes the cluster.

On a real cluster
-----------------
Replace the ``LocalCluster`` by the address of its scheduler::

    from dask.distributed import Client
    client = Client("tcp://scheduler-host:8786")
    with joblib.parallel_config(backend="dask"):
        search.fit(X, y)

* **Install skorch_lite (same version) on every worker**, in the
  environment the workers run in. A worker that cannot import it does not
  fail the task: it cannot unpickle the estimator and the search waits
  forever. ``client.run(lambda: __import__("skorch_lite").__version__)``
  checks every worker before a long search.
* **One worker per GPU.** Start one single-threaded worker process per GPU
  and make that GPU the only one it sees, then let each fit use
  ``device="cuda"`` (or ``"auto"``)::

      CUDA_VISIBLE_DEVICES=0 dask worker tcp://scheduler-host:8786 --nworkers 1 --nthreads 1
      CUDA_VISIBLE_DEVICES=1 dask worker tcp://scheduler-host:8786 --nworkers 1 --nthreads 1

* **CPU threads.** dask workers start with ``OMP_NUM_THREADS=1``, so torch
  uses one thread per task; give each worker more threads
  (``--nthreads``) or more processes, not more torch threads.
* The final refit of the best candidate runs in the client process, on its
  own device: give ``device="auto"`` if the client has no GPU.
* Fitted models hold numpy arrays only, so they come back from a GPU worker
  to a CPU-only client without trouble.
"""

# %%
# The search
# ----------
import logging
import time

import joblib
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV, KFold

from skorch_lite import TorchLinearRegressor

X, y = load_diabetes(return_X_y=True)
grid = {"alpha": np.logspace(-2, 3, 6), "fit_intercept": [True, False]}
cv = KFold(n_splits=5, shuffle=True, random_state=0)


def make_search():
    return GridSearchCV(TorchLinearRegressor(), grid, cv=cv, n_jobs=-1)


# %%
# On a local dask cluster
# -----------------------
# Worker processes are started by spawning, which imports the main script
# again in each of them: the cluster is created under the ``__main__`` guard.
def search_on_dask():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True,
        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
    )
    try:
        with Client(cluster, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
            versions = client.run(lambda: __import__("skorch_lite").__version__)
            print("skorch_lite on the workers:", sorted(set(versions.values())))
            start = time.perf_counter()
            with joblib.parallel_config(backend="dask"):
                search = make_search().fit(X, y)
            print(f"search on dask: {time.perf_counter() - start:.1f} s")
    finally:
        cluster.close(timeout=30)
    return search


if __name__ == "__main__":
    on_dask = search_on_dask()
    print("best parameters:", on_dask.best_params_)
    print(f"best cross-validated R^2: {on_dask.best_score_:.4f}")

# %%
# The same search, locally
# ------------------------
# Without the dask backend the same fits run here (``n_jobs=1``; any other
# value would use local worker processes); the scores agree to rounding.
if __name__ == "__main__":
    local = make_search().set_params(n_jobs=1).fit(X, y)
    gap = np.max(np.abs(local.cv_results_["mean_test_score"]
                        - on_dask.cv_results_["mean_test_score"]))
    print(f"largest difference in mean R^2 from the local run: {gap:.1e}")
    assert local.best_params_ == on_dask.best_params_
