"""A process that fits with L-BFGS but never compiles does not import torch._dynamo (about 1 s).

(Adam's and SGD's ``step`` import it themselves, inside torch.optim.)
"""

import subprocess
import sys

FIT = """
import pickle, sys
import numpy as np
from skorch_lite import TorchLinearRegressor
rng = np.random.default_rng(0)
X = rng.normal(size=(50, 3)); y = X @ [1.0, 2.0, 3.0] + rng.normal(size=50)
reg = TorchLinearRegressor().fit(X, y)
reg.set_params(warm_start=True, alpha=3.0).fit(X, y)
pickle.loads(pickle.dumps(reg)).fit(X, y)
TorchLinearRegressor(loss="huber").fit(X, y)
"""


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_an_lbfgs_fit_does_not_import_torch_dynamo():
    done = _run(FIT + "print('torch._dynamo' in sys.modules)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_once_torch_dynamo_is_loaded_the_optimizer_uses_its_disabled_methods():
    # Anything that compiles loads torch._dynamo; from then on torch.optim's
    # methods are dynamo's disabled versions, as torch builds them.
    cached = ("import torch\n"
              "fn = torch.optim.Optimizer.add_param_group.__wrapped__\n"
              "print(fn.__dynamo_disable.__module__)\n")
    done = _run(FIT + cached + "import torch._dynamo\n" + FIT + cached)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["skorch_lite._lazy_dynamo", "torch._dynamo.eval_frame"]
