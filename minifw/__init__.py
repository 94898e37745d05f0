"""minifw: a small numpy framework with hand-written backward passes.

    import minifw as mf
    mf.seed(0)
    net = mf.Sequential(mf.Linear(64, 32), mf.ReLU(), mf.Linear(32, 10))
    model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=1e-3))
    history = model.fit(X, y, epochs=20, batch_size=32, validation_data=(X_val, y_val))
"""
from . import autograd, datasets, gradcheck, init, onnx, source
from .callbacks import Callback, EarlyStopping, History, LearningRateScheduler
from .constraints import MaxNorm
from .data import MinMaxScaler, StandardScaler, minibatches, one_hot, train_test_split, train_val_test_split
from .layers import (
                     BatchNorm1d,
                     Dropout,
                     Flatten,
                     LeakyReLU,
                     Linear,
                     ReLU,
                     Residual,
                     Sigmoid,
                     Softmax,
                     Tanh,
                     log_softmax,
                     sigmoid,
                     softmax,
)
from .losses import BCE, MAE, MSE, NLL, BCEWithLogits, CrossEntropy, Loss
from .metrics import accuracy, confusion_matrix
from .module import Module, Parameter, Sequential
from .optim import SGD, Adagrad, Adam, Adamax, AdamW, Optimizer, RMSprop, clip_grad_norm, clip_grad_value
from .regularizers import L1, L2, Regularizer, weights_only
from .schedules import (
                     CosineAnnealingLR,
                     CosineAnnealingWarmRestarts,
                     CyclicLR,
                     ExponentialLR,
                     InverseTimeLR,
                     LinearLR,
                     LRSchedule,
                     ReduceLROnPlateau,
                     SequentialLR,
                     StepLR,
)
from .seeding import seed
from .training import Model

__version__ = "0.1.0"
