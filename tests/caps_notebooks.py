"""Notebooks written for the quick profile's budget: sound models that learn slowly, cheap fits, a capped fit
still improving, and a history plot against ``range(1, EPOCHS + 1)``. Our own, written for these tests.

Each case says what grading it in the quick profile must give: whether the budget cuts its fit, whether its
metric is inconclusive, the least metric points it earns when decided, and the fit's own updates and epochs.
``benchmarks/caps.py`` grades the same notebooks in the quick profile and without the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat


@dataclass(frozen=True)
class CapsCase:
    """One notebook and what the quick profile must make of it."""

    name: str
    experiment: str
    cells: tuple[str, ...]
    cut: bool  # the budget cuts its fit
    inconclusive: bool | None  # its metric is left pending (None: either, the case is about something else)
    epochs: int  # entries in the fit's own history (a cut never changes it here)
    updates_asked: int | None = None
    min_metric_points: float = 0.0  # when decided
    slow: bool = True
    kind: str = "slow"  # "cheap" or "slow" (converging), for the benchmark


BOSTON_LOAD = """import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler
df = pd.read_csv('HousingData.csv')
df = df.fillna(df.mean())
X, y = df.drop(columns=['MEDV']).values, df['MEDV'].values
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=3)
scaler = MinMaxScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)"""

BOSTON_CHEAP = """from tensorflow import keras
model = keras.Sequential([keras.Input(shape=(13,)), keras.layers.Dense(128, activation='relu'),
                          keras.layers.Dense(64, activation='relu'), keras.layers.Dense(1)])
model.compile(optimizer='adam', loss='mse', metrics=['mae'])
history = model.fit(X_train, y_train, epochs=100, verbose=0)
print('test mse', model.evaluate(X_test, y_test, verbose=0)[0])"""

BOSTON_SLOW = """from tensorflow import keras
model = keras.Sequential([keras.Input(shape=(13,)), keras.layers.Dense(64, activation='relu'),
                          keras.layers.Dense(32, activation='relu'), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.002), loss='mse', metrics=['mae'])
history = model.fit(X_train, y_train, epochs=300, batch_size=8, validation_split=0.1, verbose=0)
print('test mse', model.evaluate(X_test, y_test, verbose=0)[0])"""

LETTERS = """import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tensorflow import keras
df = pd.read_csv('letter-recognition.data', header=None)
y = df[0].map(lambda c: ord(c) - ord('A')).values
X = StandardScaler().fit_transform(df.iloc[:, 1:].values.astype('float32'))
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=5)
model = keras.Sequential([keras.Input(shape=(16,)), keras.layers.Dense(128, activation='relu'),
                          keras.layers.Dense(26, activation='softmax')])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])
history = model.fit(X_train, y_train, epochs=30, batch_size=32, verbose=0)
print('test accuracy', model.evaluate(X_test, y_test, verbose=0)[1])"""

FASHION_LOAD = """import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0"""

FASHION_PLOT = """EPOCHS = 15
model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(128, activation='relu'), keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=EPOCHS, validation_data=(x_test, y_test), verbose=0)
plt.plot(range(1, EPOCHS + 1), history.history['accuracy'], label='train')
plt.plot(range(1, EPOCHS + 1), history.history['val_accuracy'], label='validation')
plt.legend(); plt.show()
print('test accuracy', model.evaluate(x_test, y_test, verbose=0)[1])"""

FASHION_IMPROVING = """model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(64, activation='relu'), keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0005), loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=40, batch_size=32, verbose=0)
print('test accuracy', model.evaluate(x_test, y_test, verbose=0)[1])"""

IMDB = """import numpy as np
from tensorflow import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=10000)
x_train = keras.utils.pad_sequences(x_train, maxlen=200)
x_test = keras.utils.pad_sequences(x_test, maxlen=200)
model = keras.Sequential([keras.Input(shape=(200,)), keras.layers.Embedding(10000, 16),
                          keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(16, activation='relu'),
                          keras.layers.Dense(1, activation='sigmoid')])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.0005), loss=keras.losses.binary_crossentropy,
              metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=20, batch_size=512, verbose=0)
print('test accuracy', model.evaluate(x_test, y_test, verbose=0)[1])"""

STOCK = """import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler
from tensorflow import keras
train = pd.read_csv('Google_Stock_Price_Train.csv')
sc = MinMaxScaler().fit(train[['Open']].values)
scaled = sc.transform(train[['Open']].values)
X_train = np.array([scaled[i - 60:i, 0] for i in range(60, len(scaled))])[..., None]
y_train = np.array([scaled[i, 0] - scaled[i - 1, 0] for i in range(60, len(scaled))])
model = keras.Sequential([keras.Input(shape=(60, 1)), keras.layers.GRU(24), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.0003), loss='mean_squared_error')
history = model.fit(X_train, y_train, epochs=100, batch_size=32, verbose=0)
test = pd.read_csv('Google_Stock_Price_Test.csv')
total = pd.concat((train['Open'], test['Open']), axis=0)
inputs = sc.transform(total[len(total) - len(test) - 60:].values.reshape(-1, 1))
X_test = np.array([inputs[i - 60:i, 0] for i in range(60, 60 + len(test))])[..., None]
print(sc.inverse_transform((X_test[:, -1, 0] + model.predict(X_test, verbose=0)[:, 0]).reshape(-1, 1))[:3])"""

LETTERS_SLOW = LETTERS.replace("SGD(learning_rate=0.05)", "SGD(learning_rate=0.005)").replace(
    "epochs=30, batch_size=32", "epochs=40, batch_size=8"
)

IMDB_MULTI_HOT = """import numpy as np
from tensorflow import keras
(x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=10000)
def vectorize(sequences, dimension=10000):
    out = np.zeros((len(sequences), dimension), dtype='float32')
    for i, seq in enumerate(sequences):
        out[i, seq] = 1.0
    return out
x_train, x_test = vectorize(x_train), vectorize(x_test)
model = keras.Sequential([keras.Input(shape=(10000,)), keras.layers.Dense(16, activation='relu'),
                          keras.layers.Dense(1, activation='sigmoid')])
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=4, batch_size=512, verbose=0)
print('test accuracy', model.evaluate(x_test, y_test, verbose=0)[1])"""

STOCK_CHEAP = STOCK.replace("keras.layers.GRU(24)", "keras.layers.LSTM(16)").replace(
    "learning_rate=0.0003), loss='mean_squared_error')\nhistory = model.fit(X_train, y_train, epochs=100",
    "learning_rate=0.001), loss='mean_squared_error')\nhistory = model.fit(X_train, y_train, epochs=20",
)

CASES = (
    CapsCase(
        "boston_minmax_100_epochs",
        "boston",
        (BOSTON_LOAD, BOSTON_CHEAP),
        cut=False,
        inconclusive=False,
        epochs=100,
        updates_asked=1200,
        min_metric_points=1.0,
        slow=False,
        kind="cheap",
    ),
    CapsCase(
        "fashion_history_plot_15_epochs",
        "fashion",
        (FASHION_LOAD, FASHION_PLOT),
        cut=True,
        inconclusive=None,
        epochs=15,
        updates_asked=15 * 1875,
        min_metric_points=1.0,
        slow=False,
        kind="cheap",
    ),
    CapsCase(
        "boston_sgd_300_epochs",
        "boston",
        (BOSTON_LOAD, BOSTON_SLOW),
        cut=True,
        inconclusive=None,
        epochs=300,  # every epoch it asked for runs, each on fewer batches
        min_metric_points=1.0,
    ),
    CapsCase(
        "letters_sgd_30_epochs",
        "letters",
        (LETTERS,),
        cut=False,
        inconclusive=False,
        epochs=30,
        updates_asked=30 * 450,
        min_metric_points=1.0,
        kind="cheap",
    ),
    CapsCase(
        "fashion_sgd_still_improving",
        "fashion",
        (FASHION_LOAD, FASHION_IMPROVING),
        cut=True,
        inconclusive=True,
        epochs=40,
        updates_asked=40 * 1875,
    ),
    CapsCase(
        "imdb_embedding_small_learning_rate",
        "imdb",
        (IMDB,),
        cut=False,
        inconclusive=False,
        epochs=20,
        updates_asked=20 * 49,
        min_metric_points=1.0,
    ),
    CapsCase(
        "stock_gru_100_epochs", "stock", (STOCK,), cut=False, inconclusive=False, epochs=100, min_metric_points=1.0
    ),
    CapsCase(
        "letters_sgd_batch_8",
        "letters",
        (LETTERS_SLOW,),
        cut=True,
        inconclusive=None,
        epochs=40,
        updates_asked=40 * 1800,
        min_metric_points=1.0,
    ),
    CapsCase(
        "imdb_multi_hot_4_epochs",
        "imdb",
        (IMDB_MULTI_HOT,),
        cut=False,
        inconclusive=False,
        epochs=4,
        updates_asked=4 * 49,
        min_metric_points=1.0,
        kind="cheap",
    ),
    CapsCase(
        "stock_lstm_20_epochs",
        "stock",
        (STOCK_CHEAP,),
        cut=False,
        inconclusive=False,
        epochs=20,
        min_metric_points=1.0,
        kind="cheap",
    ),
)


def notebook(case: CapsCase) -> nbformat.NotebookNode:
    """The case as a notebook of code cells."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in case.cells]
    return nb
