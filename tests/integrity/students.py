"""Synthetic student code for the similarity fixtures: each experiment step written several honest ways.

An honest student is a pick of one way per step plus their own small choices
(layer count, dropout, batch size, plots); copies are made from a student's
cells by the edits in :mod:`tests.integrity.edits`. The "manual" listings are
the code the lab manual hands out, which every student may use verbatim.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MANUAL = {
    "boston": """import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
# %%
df = pd.read_csv("BostonHousing.csv")
X = df.drop(columns=["medv"]).values
y = df["medv"].values
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
sc = StandardScaler()
X_train = sc.fit_transform(X_train)
X_test = sc.transform(X_test)
# %%
from keras.models import Sequential
from keras.layers import Dense
model = Sequential()
model.add(Dense(128, activation="relu", input_dim=13))
model.add(Dense(1))
model.compile(optimizer="adam", loss="mean_squared_error", metrics=["mae"])
history = model.fit(X_train, y_train, epochs=100, validation_split=0.05)
mse_nn, mae_nn = model.evaluate(X_test, y_test)
""",
    "fashion": """import numpy as np
import matplotlib.pyplot as plt
from keras.datasets import fashion_mnist
from keras.utils import to_categorical
# %%
(x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)
# %%
from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense
model = Sequential()
model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
model.add(MaxPooling2D((2, 2)))
model.add(Flatten())
model.add(Dense(10, activation="softmax"))
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=10, validation_data=(x_test, y_test))
test_loss, test_acc = model.evaluate(x_test, y_test)
""",
}

# A helper from a popular tutorial that most of a class pastes in: common code, not evidence.
TUTORIAL_PLOT = """def plot_history(h):
    plt.figure(figsize=(8, 4))
    plt.plot(h.history["loss"], label="train")
    plt.plot(h.history["val_loss"], label="validation")
    plt.xlabel("epoch")
    plt.ylabel("loss")
    plt.legend()
    plt.show()

plot_history(history)"""


@dataclass(frozen=True)
class Names:
    """A student's own names: renaming is the first thing a copier does, so honest students vary them too."""

    df: str
    x: str
    y: str
    xtr: str
    xte: str
    ytr: str
    yte: str
    model: str
    hist: str


def names(rng: random.Random) -> Names:
    """Names in the styles this lab's students use."""
    df = rng.choice(["df", "data", "dataset", "housing", "boston_df"])
    x, y = rng.choice([("X", "y"), ("x", "y"), ("features", "target"), ("X_data", "Y"), ("inputs", "prices")])
    split = rng.choice(
        [
            ("X_train", "X_test", "y_train", "y_test"),
            ("x_train", "x_test", "y_train", "y_test"),
            ("train_x", "test_x", "train_y", "test_y"),
            ("Xtr", "Xte", "ytr", "yte"),
        ]
    )
    model = rng.choice(["model", "net", "nn_model", "regressor", "dnn", "cnn"])
    hist = rng.choice(["history", "hist", "h", "log", "training"])
    return Names(df, x, y, *split, model, hist)


def _units(rng: random.Random, count: int) -> list[int]:
    return sorted((rng.choice([8, 16, 32, 64, 128, 256]) for _ in range(count)), reverse=True)


# ----------------------------------------------------------------------------- boston: a regression DNN


def boston_imports(rng: random.Random, n: Names) -> str:
    lines = ["import numpy as np", "import pandas as pd", "import matplotlib.pyplot as plt"]
    if rng.random() < 0.4:
        lines.append("import seaborn as sns")
    lines += [
        "from sklearn.model_selection import train_test_split",
        rng.choice(
            [
                "from sklearn.preprocessing import StandardScaler",
                "from sklearn.preprocessing import MinMaxScaler, StandardScaler",
            ]
        ),
    ]
    rng.shuffle(lines)
    return "\n".join(lines)


def boston_load(rng: random.Random, n: Names) -> str:
    way = rng.randrange(4)
    if way == 0:
        return f'{n.df} = pd.read_csv("BostonHousing.csv")\n{n.df}.head()'
    if way == 1:
        return (
            f'{n.df} = pd.read_csv("BostonHousing.csv")\nprint({n.df}.isnull().sum())\n'
            f'{n.df} = {n.df}.dropna()\nprint("rows after dropping missing:", len({n.df}))'
        )
    if way == 2:
        return (
            f'path = "BostonHousing.csv"\n{n.df} = pd.read_csv(path)\n'
            f"{n.df}.columns = [c.strip().lower() for c in {n.df}.columns]\n{n.df}.describe()"
        )
    return (
        f'{n.df} = pd.read_csv("BostonHousing.csv", index_col=False)\n'
        f"{n.df} = {n.df}.fillna({n.df}.mean())\n{n.df}.info()"
    )


def boston_explore(rng: random.Random, n: Names) -> str:
    way = rng.randrange(4)
    if way == 0:
        return (
            f"plt.figure(figsize=(12, 10))\ncorr = {n.df}.corr()\n"
            "sns.heatmap(corr, annot=True, cmap='coolwarm', fmt='.2f')\nplt.title('Correlation')\nplt.show()"
        )
    if way == 1:
        return (
            f"plt.hist({n.df}['medv'], bins=30, color='steelblue')\nplt.xlabel('Median value')\n"
            "plt.ylabel('count')\nplt.show()"
        )
    if way == 2:
        return (
            f"fig, axes = plt.subplots(1, 2, figsize=(10, 4))\n"
            f"axes[0].scatter({n.df}['rm'], {n.df}['medv'], s=8)\naxes[0].set_xlabel('rooms')\n"
            f"axes[1].scatter({n.df}['lstat'], {n.df}['medv'], s=8)\naxes[1].set_xlabel('lstat')\nplt.show()"
        )
    return f"for col in {n.df}.columns:\n    print(col, {n.df}[col].min(), {n.df}[col].max())"


def boston_split(rng: random.Random, n: Names) -> str:
    way = rng.randrange(4)
    seed = rng.choice(["", ", random_state=42", ", random_state=0", ", random_state=1", ", shuffle=True"])
    size = rng.choice(["0.2", "0.25", "0.3", "0.15"])
    if way == 0:
        head = f'{n.x} = {n.df}.drop(columns=["medv"]).values\n{n.y} = {n.df}["medv"].values'
    elif way == 1:
        head = f"{n.x} = {n.df}.iloc[:, :-1].values\n{n.y} = {n.df}.iloc[:, -1].values"
    elif way == 2:
        head = (
            f"cols = [c for c in {n.df}.columns if c != 'medv']\n{n.x} = {n.df}[cols].to_numpy()\n"
            f"{n.y} = {n.df}['medv'].to_numpy().reshape(-1)"
        )
    else:
        return (
            f"idx = np.random.permutation(len({n.df}))\ncut = int({size} * len({n.df}))\n"
            f"test_part, train_part = {n.df}.iloc[idx[:cut]], {n.df}.iloc[idx[cut:]]\n"
            f"{n.xtr}, {n.ytr} = train_part.drop('medv', axis=1).values, train_part['medv'].values\n"
            f"{n.xte}, {n.yte} = test_part.drop('medv', axis=1).values, test_part['medv'].values"
        )
    return (
        f"{head}\n{n.xtr}, {n.xte}, {n.ytr}, {n.yte} = train_test_split({n.x}, {n.y}, "
        f"test_size={size}{seed})\nprint({n.xtr}.shape, {n.xte}.shape)"
    )


def boston_scale(rng: random.Random, n: Names) -> str:
    way = rng.randrange(4)
    if way == 0:
        return f"sc = StandardScaler()\n{n.xtr} = sc.fit_transform({n.xtr})\n{n.xte} = sc.transform({n.xte})"
    if way == 1:
        return (
            f"scaler = MinMaxScaler()\nscaler.fit({n.xtr})\n{n.xtr} = scaler.transform({n.xtr})\n"
            f"{n.xte} = scaler.transform({n.xte})"
        )
    if way == 2:
        return (
            f"mean = {n.xtr}.mean(axis=0)\nstd = {n.xtr}.std(axis=0)\n{n.xtr} = ({n.xtr} - mean) / std\n"
            f"{n.xte} = ({n.xte} - mean) / std"
        )
    return (
        f"def normalise(a, ref):\n    return (a - ref.mean(axis=0)) / (ref.std(axis=0) + 1e-8)\n\n"
        f"{n.xte} = normalise({n.xte}, {n.xtr})\n{n.xtr} = normalise({n.xtr}, {n.xtr})"
    )


def boston_model(rng: random.Random, n: Names) -> str:
    way = rng.randrange(4)
    units = _units(rng, rng.randint(2, 5))
    act = rng.choice(["relu", "relu", "elu", "tanh"])
    drop = rng.random() < 0.4
    rate = rng.choice([0.1, 0.2, 0.3])
    opt = rng.choice(["'adam'", "Adam(learning_rate=0.001)", "'rmsprop'", "RMSprop(learning_rate=0.001)", "'sgd'"])
    loss = rng.choice(["'mse'", "'mean_squared_error'", "'mae'"])
    metrics = rng.choice(["['mae']", "['mae', 'mse']", "['mean_absolute_error']"])
    compile_ = f"{n.model}.compile(optimizer={opt}, loss={loss}, metrics={metrics})"
    imports = "from keras.models import Sequential\nfrom keras.layers import Dense, Dropout\n"
    imports += "from keras.optimizers import Adam, RMSprop\n"
    if way == 0:
        lines = [
            f"{n.model} = Sequential()",
            f"{n.model}.add(Dense({units[0]}, activation='{act}', input_shape=({n.xtr}.shape[1],)))",
        ]
        for u in units[1:]:
            lines.append(f"{n.model}.add(Dense({u}, activation='{act}'))")
            if drop:
                lines.append(f"{n.model}.add(Dropout({rate}))")
        lines.append(f"{n.model}.add(Dense(1))")
        return imports + "\n".join(lines) + f"\n{compile_}\n{n.model}.summary()"
    if way == 1:
        body = [f"    Dense({units[0]}, activation='{act}', input_dim=13),"]
        for u in units[1:]:
            body.append(f"    Dense({u}, activation='{act}'),")
            if drop:
                body.append(f"    Dropout({rate}),")
        body.append("    Dense(1)")
        return imports + f"{n.model} = Sequential([\n" + "\n".join(body) + f"\n])\n{compile_}"
    if way == 2:
        body = [f"    m.add(Dense({units[0]}, activation=act, input_dim=n_features))"]
        body += [f"    m.add(Dense({u}, activation=act))" for u in units[1:]]
        if drop:
            body.append(f"    m.add(Dropout({rate}))")
        return (
            imports
            + f"def build_model(n_features, act='{act}'):\n    m = Sequential()\n"
            + "\n".join(body)
            + f"\n    m.add(Dense(1, activation='linear'))\n    m.compile(optimizer={opt}, loss={loss}, "
            f"metrics={metrics})\n    return m\n\n{n.model} = build_model({n.xtr}.shape[1])"
        )
    lines = [
        "import keras",
        "from keras import layers",
        f"inputs = keras.Input(shape=({n.xtr}.shape[1],))",
        "z = inputs",
    ]
    for u in units:
        lines.append(f"z = layers.Dense({u}, activation='{act}')(z)")
        if drop:
            lines.append(f"z = layers.Dropout({rate})(z)")
    lines += [
        "outputs = layers.Dense(1)(z)",
        f"{n.model} = keras.Model(inputs, outputs)",
        compile_.replace("Adam(", "keras.optimizers.Adam(").replace("RMSprop(", "keras.optimizers.RMSprop("),
    ]
    return "\n".join(lines)


def boston_fit(rng: random.Random, n: Names) -> str:
    way = rng.randrange(4)
    epochs = rng.choice([50, 100, 150, 200, 300])
    batch = rng.choice(["", ", batch_size=16", ", batch_size=32", ", batch_size=8"])
    verbose = rng.choice(["", ", verbose=0", ", verbose=1", ", verbose=2"])
    if way == 0:
        return f"{n.hist} = {n.model}.fit({n.xtr}, {n.ytr}, epochs={epochs}, validation_split=0.05{batch}{verbose})"
    if way == 1:
        return (
            f"{n.hist} = {n.model}.fit({n.xtr}, {n.ytr}, validation_data=({n.xte}, {n.yte}), "
            f"epochs={epochs}{batch}{verbose})"
        )
    if way == 2:
        return (
            "from keras.callbacks import EarlyStopping\n"
            f"stop = EarlyStopping(monitor='val_loss', patience={rng.choice([5, 10, 20])}, "
            "restore_best_weights=True)\n"
            f"{n.hist} = {n.model}.fit({n.xtr}, {n.ytr}, epochs={epochs}, validation_split=0.2, "
            f"callbacks=[stop]{batch}{verbose})"
        )
    return (
        f"EPOCHS = {epochs}\n{n.hist} = {n.model}.fit(\n    {n.xtr}, {n.ytr},\n    epochs=EPOCHS,\n"
        f"    validation_split=0.1,\n    shuffle=True{batch}{verbose}\n)\nprint('done training')"
    )


def boston_curves(rng: random.Random, n: Names) -> str:
    way = 3 if rng.random() < 0.8 else rng.randrange(3)
    if way == 0:
        return (
            f"plt.plot({n.hist}.history['loss'], label='train loss')\n"
            f"plt.plot({n.hist}.history['val_loss'], label='val loss')\nplt.xlabel('Epoch')\n"
            "plt.ylabel('MSE')\nplt.legend()\nplt.show()"
        )
    if way == 1:
        return f"pd.DataFrame({n.hist}.history).plot(figsize=(8, 5))\nplt.grid(True)\nplt.show()"
    if way == 2:
        key = rng.choice(["mae", "mean_absolute_error"])
        return (
            f"fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))\nax1.plot({n.hist}.history['loss'])\n"
            f"ax1.plot({n.hist}.history['val_loss'])\nax1.set_title('loss')\n"
            f"ax2.plot({n.hist}.history.get('{key}', []))\nax2.set_title('{key}')\nplt.show()"
        )
    return TUTORIAL_PLOT.replace("(history)", f"({n.hist})")


def boston_evaluate(rng: random.Random, n: Names) -> str:
    way = rng.randrange(4)
    if way == 0:
        return (
            f"mse_nn, mae_nn = {n.model}.evaluate({n.xte}, {n.yte})\nprint('Mean squared error: ', mse_nn)\n"
            f"print('Mean absolute error: ', mae_nn)"
        )
    if way == 1:
        return (
            "from sklearn.metrics import mean_squared_error, mean_absolute_error, r2_score\n"
            f"pred = {n.model}.predict({n.xte}).flatten()\nprint('MSE', mean_squared_error({n.yte}, pred))\n"
            f"print('MAE', mean_absolute_error({n.yte}, pred))\nprint('R2', r2_score({n.yte}, pred))"
        )
    if way == 2:
        return (
            f"pred = {n.model}.predict({n.xte})[:, 0]\nerr = pred - {n.yte}\nrmse = np.sqrt(np.mean(err ** 2))\n"
            f"mae = np.mean(np.abs(err))\nprint(f'RMSE {{rmse:.2f}}  MAE {{mae:.2f}}')"
        )
    return (
        f"y_hat = {n.model}.predict({n.xte})\nplt.scatter({n.yte}, y_hat, alpha=0.6)\n"
        f"lims = [min({n.yte}), max({n.yte})]\nplt.plot(lims, lims, 'r--')\nplt.xlabel('true price')\n"
        "plt.ylabel('predicted price')\nplt.show()\n"
        f"from sklearn.metrics import r2_score\nprint('R^2 =', r2_score({n.yte}, y_hat))"
    )


def boston_extra(rng: random.Random, n: Names) -> str:
    way = rng.randrange(3)
    if way == 0:
        return (
            "from sklearn.linear_model import LinearRegression\nlr = LinearRegression()\n"
            f"lr.fit({n.xtr}, {n.ytr})\nprint('linear regression R2:', lr.score({n.xte}, {n.yte}))"
        )
    if way == 1:
        return (
            f"sample = {n.xte}[:5]\nfor true, guess in zip({n.yte}[:5], {n.model}.predict(sample)):\n"
            "    print(f'true {true:.1f} predicted {guess[0]:.1f}')"
        )
    return f"{n.model}.save('boston_model.keras')\nprint('saved')"


BOSTON_STEPS = (
    boston_imports,
    boston_load,
    boston_explore,
    boston_split,
    boston_scale,
    boston_model,
    boston_fit,
    boston_curves,
    boston_evaluate,
    boston_extra,
)


# ----------------------------------------------------------------------------- fashion: a CNN classifier


def fashion_imports(rng: random.Random, n: Names) -> str:
    lines = ["import numpy as np", "import matplotlib.pyplot as plt", "from keras.datasets import fashion_mnist"]
    if rng.random() < 0.5:
        lines.append("import tensorflow as tf")
    rng.shuffle(lines)
    return "\n".join(lines)


def fashion_load(rng: random.Random, n: Names) -> str:
    head = f"({n.xtr}, {n.ytr}), ({n.xte}, {n.yte}) = fashion_mnist.load_data()"
    if rng.random() < 0.5:
        head += f"\nprint({n.xtr}.shape, {n.ytr}.shape, {n.xte}.shape)"
    names_ = (
        'class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",\n'
        '               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]'
    )
    return head + "\n" + names_


def fashion_show(rng: random.Random, n: Names) -> str:
    way = rng.randrange(3)
    count = rng.choice([9, 16, 25])
    side = int(count**0.5)
    if way == 0:
        return (
            f"plt.figure(figsize=(10, 10))\nfor i in range({count}):\n    plt.subplot({side}, {side}, i + 1)\n"
            f"    plt.imshow({n.xtr}[i], cmap='gray')\n    plt.title(class_names[{n.ytr}[i]])\n"
            "    plt.axis('off')\nplt.show()"
        )
    if way == 1:
        return (
            f"fig, axes = plt.subplots({side}, {side}, figsize=(8, 8))\nfor ax, img, lab in zip(axes.ravel(), "
            f"{n.xtr}, {n.ytr}):\n    ax.imshow(img, cmap=plt.cm.binary)\n    ax.set_title(class_names[lab])\n"
            "    ax.set_xticks([])\n    ax.set_yticks([])\nplt.tight_layout()"
        )
    return f"plt.imshow({n.xtr}[0])\nplt.colorbar()\nplt.show()\nprint(np.bincount({n.ytr}))"


def fashion_prep(rng: random.Random, n: Names) -> str:
    way = rng.randrange(4)
    cat = rng.random() < 0.5
    tail = ""
    if cat:
        tail = (
            f"\nfrom keras.utils import to_categorical\n{n.ytr} = to_categorical({n.ytr})\n"
            f"{n.yte} = to_categorical({n.yte})"
        )
    if way == 0:
        body = (
            f"{n.xtr} = {n.xtr}.reshape(-1, 28, 28, 1).astype('float32') / 255\n"
            f"{n.xte} = {n.xte}.reshape(-1, 28, 28, 1).astype('float32') / 255"
        )
    elif way == 1:
        body = f"{n.xtr} = np.expand_dims({n.xtr} / 255.0, -1)\n{n.xte} = np.expand_dims({n.xte} / 255.0, -1)"
    elif way == 2:
        body = (
            f"{n.xtr} = {n.xtr} / 255.0\n{n.xte} = {n.xte} / 255.0\n"
            f"{n.xtr} = {n.xtr}[..., np.newaxis]\n{n.xte} = {n.xte}[..., np.newaxis]"
        )
    else:
        body = (
            f"def prep(images):\n    images = images.astype(np.float32) / 255.0\n"
            f"    return images.reshape((images.shape[0], 28, 28, 1))\n\n"
            f"{n.xtr} = prep({n.xtr})\n{n.xte} = prep({n.xte})"
        )
    return body + tail


def fashion_model(rng: random.Random, n: Names) -> str:
    way = rng.randrange(3)
    blocks = rng.randint(1, 3)
    filters = [rng.choice([16, 32, 64]) * (2**b) for b in range(blocks)]
    kernel = rng.choice(["(3, 3)", "3", "(5, 5)"])
    drop = rng.random() < 0.5
    norm = rng.random() < 0.3
    dense = rng.choice([64, 128, 256])
    head = rng.choice(["Flatten()", "GlobalAveragePooling2D()"])
    imports = (
        "from keras.models import Sequential\n"
        "from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense, Dropout, BatchNormalization, "
        "GlobalAveragePooling2D\n"
    )
    layers_ = [f"Conv2D({filters[0]}, {kernel}, activation='relu', padding='same', input_shape=(28, 28, 1))"]
    for b, f in enumerate(filters):
        if b:
            layers_.append(f"Conv2D({f}, {kernel}, activation='relu', padding='same')")
        if norm:
            layers_.append("BatchNormalization()")
        layers_.append(rng.choice(["MaxPooling2D((2, 2))", "MaxPooling2D(pool_size=2)"]))
        if drop:
            layers_.append(f"Dropout({rng.choice([0.2, 0.25, 0.3])})")
    layers_ += [head, f"Dense({dense}, activation='relu')"]
    if drop:
        layers_.append("Dropout(0.5)")
    layers_.append("Dense(10, activation='softmax')")
    if way == 0:
        return imports + f"{n.model} = Sequential()\n" + "\n".join(f"{n.model}.add({layer})" for layer in layers_)
    if way == 1:
        return imports + f"{n.model} = Sequential([\n" + ",\n".join(f"    {layer}" for layer in layers_) + "\n])"
    return (
        imports
        + "def make_cnn():\n    net = Sequential()\n"
        + "\n".join(f"    net.add({layer})" for layer in layers_)
        + f"\n    return net\n\n{n.model} = make_cnn()\n{n.model}.summary()"
    )


def fashion_fit(rng: random.Random, n: Names) -> str:
    loss = rng.choice(["'sparse_categorical_crossentropy'", "'categorical_crossentropy'"])
    opt = rng.choice(["'adam'", "Adam(learning_rate=0.001)", "'rmsprop'", "SGD(learning_rate=0.01, momentum=0.9)"])
    epochs = rng.choice([5, 10, 15, 20])
    batch = rng.choice(["", ", batch_size=64", ", batch_size=128", ", batch_size=32"])
    val = rng.choice([f"validation_data=({n.xte}, {n.yte})", "validation_split=0.1", "validation_split=0.2"])
    imp = "from keras.optimizers import Adam, SGD\n" if "(" in opt else ""
    fit = f"{n.hist} = {n.model}.fit({n.xtr}, {n.ytr}, epochs={epochs}{batch}, {val})"
    if rng.random() < 0.3:
        fit = (
            f"from keras.callbacks import EarlyStopping, ModelCheckpoint\ncbs = [EarlyStopping(patience=3), "
            f"ModelCheckpoint('best.keras', save_best_only=True)]\n{fit[:-1]}, callbacks=cbs)"
        )
    return f"{imp}{n.model}.compile(optimizer={opt}, loss={loss}, metrics=['accuracy'])\n{fit}"


def fashion_curves(rng: random.Random, n: Names) -> str:
    way = 2 if rng.random() < 0.8 else rng.randrange(2)
    if way == 0:
        return (
            f"plt.plot({n.hist}.history['accuracy'], label='train')\n"
            f"plt.plot({n.hist}.history['val_accuracy'], label='val')\nplt.title('accuracy')\nplt.legend()\n"
            "plt.show()"
        )
    if way == 1:
        return (
            f"acc = {n.hist}.history['accuracy']\nval_acc = {n.hist}.history['val_accuracy']\n"
            "epochs_range = range(1, len(acc) + 1)\nplt.plot(epochs_range, acc, 'bo', label='Training acc')\n"
            "plt.plot(epochs_range, val_acc, 'b', label='Validation acc')\nplt.legend()"
        )
    return TUTORIAL_PLOT.replace("(history)", f"({n.hist})")


def fashion_evaluate(rng: random.Random, n: Names) -> str:
    way = rng.randrange(4)
    if way == 0:
        return (
            f"test_loss, test_acc = {n.model}.evaluate({n.xte}, {n.yte}, verbose=2)\nprint('Test accuracy:', test_acc)"
        )
    if way == 1:
        return (
            "from sklearn.metrics import classification_report\n"
            f"pred = np.argmax({n.model}.predict({n.xte}), axis=1)\n"
            f"truth = {n.yte} if {n.yte}.ndim == 1 else np.argmax({n.yte}, axis=1)\n"
            "print(classification_report(truth, pred, target_names=class_names))"
        )
    if way == 2:
        return (
            "from sklearn.metrics import confusion_matrix\nimport seaborn as sns\n"
            f"p = {n.model}.predict({n.xte}).argmax(axis=1)\ncm = confusion_matrix({n.yte}.reshape(-1), p)\n"
            "plt.figure(figsize=(9, 7))\nsns.heatmap(cm, annot=True, fmt='d', xticklabels=class_names, "
            "yticklabels=class_names)\nplt.ylabel('true')\nplt.show()"
        )
    return (
        f"probs = {n.model}.predict({n.xte}[:12])\nplt.figure(figsize=(12, 4))\nfor i in range(12):\n"
        f"    plt.subplot(2, 6, i + 1)\n    plt.imshow({n.xte}[i].squeeze(), cmap='gray')\n"
        "    plt.title(class_names[int(np.argmax(probs[i]))], fontsize=8)\n    plt.axis('off')\nplt.show()"
    )


FASHION_STEPS = (
    fashion_imports,
    fashion_load,
    fashion_show,
    fashion_prep,
    fashion_model,
    fashion_fit,
    fashion_curves,
    fashion_evaluate,
)
STEPS = {"boston": BOSTON_STEPS, "fashion": FASHION_STEPS}
OPTIONAL = {boston_explore, boston_extra, fashion_show}


# Equivalent idioms: an honest student settles on one of each pair and writes it everywhere.
_IDIOMS = (
    (".values", ".to_numpy()"),
    ("input_dim=13", "input_shape=(13,)"),
    (".shape[1],)", ".shape[-1],)"),
    ("(axis=0)", "(0)"),
    ("MaxPooling2D((2, 2))", "MaxPooling2D(2)"),
    (", activation='relu'", ", activation='relu', kernel_initializer='he_normal'"),
    (", padding='same'", ""),
    ("Dense(1)", "Dense(1, activation='linear')"),
    ("verbose=2", "verbose=1"),
    ("validation_split=0.05", "validation_split=0.1, shuffle=True"),
    ("np.argmax(", "tf.argmax("),
    ("plt.legend()", "plt.legend(loc='upper right')"),
    ("plt.figure(figsize=", "fig = plt.figure(figsize="),
    ("plt.axis('off')", "plt.xticks([])\n    plt.yticks([])"),
    (".argmax(axis=1)", ".argmax(1)"),
    ("annot=True, fmt='d', ", "annot=True, fmt='d', cmap='Blues', cbar=False, "),
    ("[..., np.newaxis]", ".reshape(-1, 28, 28, 1)"),
    ("cmap='gray'", "cmap=plt.cm.gray"),
    ("MaxPooling2D(pool_size=2)", "MaxPooling2D(pool_size=(2, 2))"),
    ("plt.ylabel('true')", "plt.ylabel('true')\nplt.xlabel('predicted')"),
    ("Dense(10, activation='softmax')", "Dense(len(class_names), activation='softmax')"),
    ("    return net", "    net.build((None, 28, 28, 1))\n    return net"),
    ("to_categorical(y", "to_categorical(num_classes=10, y="),
    ("    plt.subplot(", "    ax = plt.subplot("),
    (".mean(axis=0)", ".mean(axis=0, keepdims=True)"),
    ("test_size=", "train_size=None, test_size="),
)


def _style(cells: list[str], rng: random.Random) -> tuple[str, ...]:
    chosen = [pair for pair in _IDIOMS if rng.random() < 0.5]
    out = []
    for cell in cells:
        for old, new in chosen:
            cell = cell.replace(old, new)
        out.append(cell)
    return tuple(out)


def honest(experiment: str, seed: int) -> tuple[str, ...]:
    """One independently written submission: each step in one of its ways, optional steps sometimes left out,
    and the student's own idioms throughout."""
    rng = random.Random(f"{experiment}-{seed}")
    n = names(rng)
    cells = []
    for step in STEPS[experiment]:
        if step in OPTIONAL and rng.random() < 0.3:
            continue
        cells.append(step(rng, n))
    return _style(cells, rng)


def from_manual(experiment: str, seed: int) -> tuple[str, ...]:
    """A student who hands in the manual's listing with only a little of their own: nothing to accuse."""
    rng = random.Random(f"manual-{experiment}-{seed}")
    n = names(rng)
    cells = [c.strip("\n") for c in MANUAL[experiment].split("# %%")]
    own = STEPS[experiment][-1](rng, n)
    return (*cells, own)
