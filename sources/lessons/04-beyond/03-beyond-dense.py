# %% [markdown] track="pytorch"
# # 04·03 · Beyond dense networks, in PyTorch
#
# Every network in this course so far was a stack of dense (fully connected) layers. They can
# represent anything in principle (lesson 01-numpy/04), but for images, sequences and other
# structured data, architectures that build the structure in learn far more from far fewer
# parameters. This notebook measures why images need weight sharing, trains a first
# convolutional network next to the dense one, and gives a runnable glimpse of recurrent
# networks, autoencoders, GANs and transformers.

# %% [markdown] track="tensorflow"
# # 04·03 · Beyond dense networks, in Keras
#
# Every network in this course so far was a stack of dense (fully connected) layers. They can
# represent anything in principle (lesson 01-numpy/04), but for images, sequences and other
# structured data, architectures that build the structure in learn far more from far fewer
# parameters. This notebook measures why images need weight sharing, trains a first
# convolutional network next to the dense one, and gives a runnable glimpse of recurrent
# networks, autoencoders, GANs and transformers.

# %% [markdown]
# ## Objectives
# After this notebook you can
#
# - count the parameters a dense layer needs for a real photograph, and say why that fails;
# - show what the first layer of a trained dense network learned, drawn as images;
# - build and train a small convolutional network and compare it with the dense one on accuracy
#   and parameter count;
# - say in one sentence each what recurrent networks, autoencoders, GANs and transformers are for,
#   and run a minimal example of each on made-up shapes.

# %% track="pytorch"
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import minifw as mf

torch.manual_seed(0)
torch.set_num_threads(1)
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("PyTorch", torch.__version__, "| device:", device)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# %% track="tensorflow"
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers

import minifw as mf

keras.utils.set_random_seed(0)
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| GPUs:", len(tf.config.list_physical_devices("GPU")))


def n_params(model: keras.Model) -> int:
    return model.count_params()


# %% [markdown]
# ## 1. A dense layer on a photograph
#
# A modest colour photo of 400×400 pixels has $400 \cdot 400 \cdot 3 = 480\,000$ input values. A
# dense layer connects every input to every unit: with 1000 units that is 480 million weights in
# the first layer alone, each learned separately, so the network must learn "an edge" anew at every
# position. A **convolutional** layer instead slides one small filter (say 3×3 over the 3 colour
# channels) across the image: the same 27 weights are used at every position (weight sharing),
# and a layer of 32 such filters has 896 parameters whatever the image size.

# %%
pixels = 400 * 400 * 3
dense_params = pixels * 1000 + 1000
conv_params = (3 * 3 * 3) * 32 + 32
print(f"inputs {pixels:,}; dense layer of 1000 units: {dense_params:,} parameters; "
      f"3×3 convolution with 32 filters: {conv_params:,}")
assert pixels == 480_000 and dense_params == 480_001_000 and conv_params == 896

# %% [markdown]
# At 4 bytes each, the dense layer's weights alone take 1.9 GB. Weight sharing is not only
# smaller: it builds in that a pattern means the same thing wherever it appears in the image.
#
# ## 2. What a dense network's first layer learns
#
# Train a 784-64-10 dense network for three epochs on the 28×28 MNIST sample and draw the 784
# incoming weights of each hidden unit as a 28×28 image.

# %%
X, y = mf.datasets.load_mnist_sample()
X_tr, X_val, _, y_tr, y_val, _ = mf.train_val_test_split(X, y, val_size=1000, test_size=1000, seed=0)
print("train", X_tr.shape, "validation", X_val.shape)
never_lit = X_tr.max(axis=0) == 0  # pixels that are 0 in every training image
print(f"{never_lit.sum()} of 784 pixels are 0 in every training image (mostly the border)")
assert never_lit.sum() > 50

# %% track="pytorch"
X_tr_t, y_tr_t = torch.tensor(X_tr).to(device), torch.tensor(y_tr).to(device)
X_val_t, y_val_t = torch.tensor(X_val).to(device), torch.tensor(y_val).to(device)


def train(model, epochs=3, lr=1e-3, images=False):
    """Adam on the training images; returns the validation accuracy. `images`: feed (N, 1, 28, 28)."""
    model.to(device)
    shape = (-1, 1, 28, 28) if images else (-1, 784)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(X_tr_t), generator=generator).split(64):
            loss = nn.functional.cross_entropy(model(X_tr_t[idx].reshape(shape)), y_tr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return (model(X_val_t.reshape(shape)).argmax(1) == y_val_t).float().mean().item()


torch.manual_seed(0)
dense = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
W_before = dense[0].weight.detach().cpu().numpy().T.copy()  # (784, 64): column j = unit j's weights
dense_accuracy = train(dense)
W_after = dense[0].weight.detach().cpu().numpy().T

# %% track="tensorflow"
train_flat = tf.data.Dataset.from_tensor_slices((X_tr, y_tr)).shuffle(3000, seed=0).batch(64)
train_images = tf.data.Dataset.from_tensor_slices((X_tr.reshape(-1, 28, 28, 1), y_tr)).shuffle(3000, seed=0).batch(64)


def train(model, epochs=3, lr=1e-3, images=False):
    """Adam on the training images; returns the validation accuracy. `images`: feed (N, 28, 28, 1)."""
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)  # its slots now: fit then traces its step once, not twice
    model.fit(train_images if images else train_flat, epochs=epochs, verbose=0, shuffle=False)
    x_val = X_val.reshape(-1, 28, 28, 1) if images else X_val
    return float(np.mean(np.argmax(model(x_val, training=False).numpy(), axis=1) == y_val))


keras.utils.set_random_seed(0)
dense = keras.Sequential([keras.Input((784,)), layers.Dense(64, activation="relu"), layers.Dense(10)])
W_before = dense.layers[0].kernel.numpy().copy()  # (784, 64): column j = unit j's weights
dense_accuracy = train(dense)
W_after = dense.layers[0].kernel.numpy()

# %%
print(f"dense 784-64-10: validation accuracy {dense_accuracy:.3f}")
fig, axes = plt.subplots(2, 8, figsize=(12, 3.3))
for j, ax in enumerate(axes.flat):
    limit = np.abs(W_after[:, j]).max()
    ax.imshow(W_after[:, j].reshape(28, 28), cmap="RdBu", vmin=-limit, vmax=limit)
    ax.set_title(f"unit {j}", fontsize=9)
    ax.axis("off")
plt.suptitle("incoming weights of 16 hidden units (red < 0 < blue)")
plt.show()
unchanged = np.all(W_after[never_lit] == W_before[never_lit])
moved = np.abs(W_after[~never_lit] - W_before[~never_lit]).mean()
print(f"weights from never-lit pixels unchanged: {unchanged}; mean change of the others: {moved:.4f}")
assert unchanged and moved > 1e-3, "a weight whose input is always 0 gets no gradient and never moves"
assert dense_accuracy > 0.85

# %% [markdown]
# The units learned blurry, stroke-like templates in the middle of the image, and left the
# border exactly as initialized: those pixels are 0 in every image, so their weights get zero
# gradient (and Adam then takes zero steps). Each unit learned its own template for the whole
# image; nothing tells it that a stroke shifted by two pixels is the same stroke. That is what
# convolutions add.
#
# ## 3. A first convolutional network
#
# Two convolution layers of 3×3 filters (16 and 32 of them), each followed by ReLU and 2×2 max
# pooling (which keeps the largest value of each 2×2 patch and halves the width and height), then
# one dense output layer. Shapes: 28×28×1 → 26×26×16 → 13×13×16 → 11×11×32 → 5×5×32 → 800 → 10.

# %% track="pytorch"
torch.manual_seed(0)
cnn = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, kernel_size=3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(5 * 5 * 32, 10))
print(cnn)
torch.manual_seed(0)
mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
accuracy = {"CNN": train(cnn, images=True), "MLP 784-512-512-10": train(mlp)}
params = {"CNN": n_params(cnn), "MLP 784-512-512-10": n_params(mlp)}

# %% track="tensorflow"
keras.utils.set_random_seed(0)
cnn = keras.Sequential([
    keras.Input((28, 28, 1)),
    layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
    layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
    layers.Flatten(), layers.Dense(10)])
cnn.summary()
keras.utils.set_random_seed(0)
mlp = keras.Sequential([keras.Input((784,)), layers.Dense(512, activation="relu"),
                        layers.Dense(512, activation="relu"), layers.Dense(10)])
accuracy = {"CNN": train(cnn, images=True), "MLP 784-512-512-10": train(mlp)}
params = {"CNN": n_params(cnn), "MLP 784-512-512-10": n_params(mlp)}

# %%
for name in accuracy:
    print(f"{name:>20}: {params[name]:>7,} parameters, validation accuracy {accuracy[name]:.3f}")
assert params["CNN"] == (9 * 1 * 16 + 16) + (9 * 16 * 32 + 32) + (800 * 10 + 10) == 12_810
assert params["MLP 784-512-512-10"] == 669_706
assert accuracy["CNN"] > accuracy["MLP 784-512-512-10"] - 0.03, "expected the CNN within 3 points of the MLP"
assert accuracy["CNN"] > 0.85, "expected the CNN to classify > 85 % of the validation digits"

# %% [markdown]
# The convolutional network comes within a few points of the lectures' dense network (here both
# see 3000 images for three epochs) with 52 times fewer parameters: 12,810 against 669,706. Its
# filters are reused at every position, and pooling makes the answer tolerant to small shifts
# (Try it 4 measures that). Deeper CNNs with residual connections
# (notebook 01) are the standard image models; d2l's and CS231n's convolution chapters are the
# next step.
#
# ## 4. Other architectures, in one paragraph and one shape each
#
# **Recurrent networks (RNNs, LSTMs, GRUs)** read a sequence one step at a time and carry a
# *state* from step to step, so the output at time $t$ can depend on everything before it
# (text, speech, sensor series). **Autoencoders** squeeze the input through a narrow code and
# learn to reconstruct it: the code is a compressed representation (for denoising, anomaly
# detection, pre-training). **Generative adversarial networks (GANs)** train a generator that
# turns random noise into samples against a discriminator that tells real from generated, until
# the generated samples look real. **Transformers** replace recurrence by *attention*: every
# position of a sequence looks at every other one and takes a weighted mix of them; they are the
# architecture of today's language models and, as vision transformers, of many image models.
# Minimal runnable shapes, on random numbers:

# %% track="pytorch"
batch, steps, features = 4, 7, 3
sequence = torch.randn(batch, steps, features)

rnn = nn.GRU(input_size=features, hidden_size=5, batch_first=True)
outputs, state = rnn(sequence)  # one output per step; the state after the last step

autoencoder = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 784), nn.Sigmoid())
code = autoencoder[:2](torch.tensor(X_val[:batch]))
reconstruction = autoencoder(torch.tensor(X_val[:batch]))

generator = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())
discriminator = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 1))
fake = generator(torch.randn(batch, 16))
verdict = discriminator(fake)  # a logit: real (> 0) or generated (< 0)

attention = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
tokens = torch.randn(batch, steps, 8)
mixed = attention(tokens)  # each position now mixes information from all 7

shapes = {"RNN outputs": tuple(outputs.shape), "RNN state": tuple(state.shape[1:]),
          "autoencoder code": tuple(code.shape), "reconstruction": tuple(reconstruction.shape),
          "generated": tuple(fake.shape), "discriminator": tuple(verdict.shape), "transformer": tuple(mixed.shape)}

# %% track="tensorflow"
batch, steps, features = 4, 7, 3
sequence = np.random.default_rng(0).normal(size=(batch, steps, features)).astype("float32")

rnn = layers.GRU(5, return_sequences=True, return_state=True)
outputs, state = rnn(sequence)  # one output per step; the state after the last step

encoder = keras.Sequential([keras.Input((784,)), layers.Dense(32, activation="relu")])
decoder = keras.Sequential([keras.Input((32,)), layers.Dense(784, activation="sigmoid")])
code = encoder(X_val[:batch])
reconstruction = decoder(code)

generator = keras.Sequential([keras.Input((16,)), layers.Dense(128, activation="relu"), layers.Dense(784, activation="sigmoid")])
discriminator = keras.Sequential([keras.Input((784,)), layers.Dense(128, activation="relu"), layers.Dense(1)])
fake = generator(np.random.default_rng(1).normal(size=(batch, 16)).astype("float32"))
verdict = discriminator(fake)  # a logit: real (> 0) or generated (< 0)

tokens = np.random.default_rng(2).normal(size=(batch, steps, 8)).astype("float32")
mixed = layers.MultiHeadAttention(num_heads=2, key_dim=4)(tokens, tokens)  # self-attention over the 7 positions

shapes = {"RNN outputs": tuple(outputs.shape), "RNN state": tuple(state.shape),
          "autoencoder code": tuple(code.shape), "reconstruction": tuple(reconstruction.shape),
          "generated": tuple(fake.shape), "discriminator": tuple(verdict.shape), "transformer": tuple(mixed.shape)}

# %%
for name, shape in shapes.items():
    print(f"{name:>17}: {shape}")
assert shapes == {"RNN outputs": (4, 7, 5), "RNN state": (4, 5), "autoencoder code": (4, 32),
                  "reconstruction": (4, 784), "generated": (4, 784), "discriminator": (4, 1),
                  "transformer": (4, 7, 8)}

# %% [markdown]
# Where to go next: convolutional networks in d2l's "Convolutional Neural Networks" and CS231n;
# recurrent networks and transformers in d2l's "Recurrent Neural Networks" and "Attention
# Mechanisms and Transformers"; autoencoders and GANs in the Keras examples and the PyTorch
# tutorials ("DCGAN"). Everything they build is made of the pieces of this course: layers with a
# forward and a backward pass, a loss, an optimizer, and honest validation.
#
# ## Try it
#
# 1. Double the filters of the CNN (32 and 64). How do the parameter count and the accuracy change?
# 2. Remove the pooling layers. How many parameters does the dense output layer need now?
# 3. Draw the 16 filters of the CNN's first layer (3×3 each). Do any look like edge detectors?
# 4. Shift every validation image by two pixels (`np.roll`) and compare how much the dense network
#    and the CNN lose.
#
# Changing a setting can make an `assert` above fail: its message says what was expected for
# the settings in this notebook.

# %% [markdown]
# ## Review questions
#
# 1. How many parameters does a dense layer with 1000 units need on a 400×400 RGB image?
#    <details><summary>Answer</summary>
#
#    $480\,000 \cdot 1000 + 1000 = 480\,001\,000$.
#
#    </details>
# 2. What is weight sharing, and what does it assume about images?
#    <details><summary>Answer</summary>
#
#    The same small filter is applied at every position; it
#    assumes a pattern means the same wherever it appears.
#
#    </details>
# 3. Why did the weights of the border pixels never change during training?
#    <details><summary>Answer</summary>
#
#    Those pixels are 0 in every training image; a weight's
#    gradient is its input times the gradient of the unit, so it is always 0.
#
#    </details>
# 4. What carries information from one step to the next in an RNN, and what replaces it in a
#    transformer?
#    <details><summary>Answer</summary>
#
#    The hidden state; in a transformer, attention lets every
#    position read every other position directly.
#
#    </details>
# 5. What are the two networks of a GAN trained to do?
#    <details><summary>Answer</summary>
#
#    The generator turns noise into samples that look real; the
#    discriminator tells real samples from generated ones. Each is trained against the other.
#
#    </details>
