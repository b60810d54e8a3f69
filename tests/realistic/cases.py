"""Real students' habits, one small notebook each, with the outcome each deserves.

``make_notebooks.py`` writes ``notebooks/<name>.<suffix>`` from these cells;
``test_realistic.py`` grades every notebook in the quick profile and asserts
its status, the reason's wording and which shims acted (run.adaptations).
Each notebook is tiny (small models, the quick profile's data and training budget).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    """One realistic notebook and what grading it must give."""

    name: str
    experiment: str | None  # None: detected from the code
    status: str
    cells: tuple[str, ...]
    kinds: tuple[str, ...] = ()  # adaptation kinds that must be recorded
    reason: str = ""  # a phrase the run's reason must contain
    details: tuple[str, ...] = ()  # phrases some adaptation's detail must contain
    suffix: str = ".ipynb"
    outputs: dict[int, list[dict[str, object]]] = field(default_factory=dict)  # stored outputs per cell
    requires: str = ""  # a module the expectation needs; while it is not installed the outcome is "missing package"


# ---------------------------------------------------------------- Boston building blocks

B_IMPORTS = "import numpy as np\nimport pandas as pd\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.preprocessing import StandardScaler"
B_SPLIT = """X = df.iloc[:, :13].values.astype('float32')
y = df.iloc[:, 13].values.astype('float32')
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)"""
B_XY_SPLIT = """X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)"""
B_MODEL = """from tensorflow import keras
model = keras.Sequential([keras.Input(shape=(13,)), keras.layers.Dense(64, activation='relu'), keras.layers.Dense(32, activation='relu'), keras.layers.Dense(1)])
model.compile(optimizer='adam', loss='mse', metrics=['mae'])
history = model.fit(X_train, y_train, epochs=100, batch_size=16, validation_split=0.1)
print('test mse, mae:', model.evaluate(X_test, y_test, verbose=0))"""
B_FILLNA = "df = df.fillna(df.mean())"


def boston(name: str, load: str, status: str = "completed", kinds: tuple[str, ...] = (), **kw: object) -> Case:
    """A Boston notebook: its own way of loading the data, then the usual split and DNN."""
    return Case(name, "boston", status, (B_IMPORTS, load, B_SPLIT, B_MODEL), kinds, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- Fashion-MNIST building blocks

F_LOAD = "from tensorflow.keras.datasets import fashion_mnist\n(x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()\nx_train, x_test = x_train / 255.0, x_test / 255.0"
F_MODEL = """import tensorflow as tf
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(64, activation='relu'), tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=10, batch_size=64, validation_data=(x_test, y_test))
print('test accuracy', model.evaluate(x_test, y_test, verbose=0)[1])"""


def fashion(name: str, *cells: str, status: str = "completed", kinds: tuple[str, ...] = (), **kw: object) -> Case:
    """A Fashion-MNIST notebook from its cells."""
    return Case(name, "fashion", status, tuple(cells), kinds, **kw)  # type: ignore[arg-type]


STORED_ERROR: dict[str, object] = {
    "output_type": "error",
    "ename": "KeyboardInterrupt",
    "evalue": "",
    "traceback": ["KeyboardInterrupt: interrupted by the student"],
}
STORED_TEXT: dict[str, object] = {"output_type": "stream", "name": "stdout", "text": "test mse, mae: [0.0001, 0.001]\n"}

# ---------------------------------------------------------------- IMDB, OCR letters, Google stock

I_VECTORIZE = """def vectorize(sequences, dimension=10000):
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        results[i, sequence] = 1
    return results
x_train, x_test = vectorize(x_train), vectorize(x_test)"""
I_MODEL = """from tensorflow.keras import models, layers
model = models.Sequential([layers.Input(shape=(10000,)), layers.Dense(16, activation='relu'), layers.Dense(1, activation='sigmoid')])
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=20, batch_size=512, validation_split=0.2)
print(model.evaluate(x_test, y_test, verbose=0))"""
L_PREP = """X = df.iloc[:, 1:].values.astype('float32')
y = LabelEncoder().fit_transform(df[0])
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)"""
L_IMPORTS = "import numpy as np\nimport pandas as pd\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.preprocessing import StandardScaler, LabelEncoder"
L_MODEL = """from tensorflow.keras import Sequential, layers
model = Sequential([layers.Input(shape=(16,)), layers.Dense(128, activation='relu'), layers.Dense(26, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(X_train, y_train, epochs=50, batch_size=64, validation_data=(X_test, y_test))"""
S_WINDOWS = """from sklearn.preprocessing import MinMaxScaler
training_set = train[['Open']].values.astype('float32')
sc = MinMaxScaler(feature_range=(0, 1))
scaled = sc.fit_transform(training_set)
X_train = np.array([scaled[i - 60:i, 0] for i in range(60, len(scaled))]).reshape(-1, 60, 1)
y_train = scaled[60:, 0]"""
S_MODEL = """from tensorflow.keras import Sequential, layers
model = Sequential([layers.Input(shape=(60, 1)), layers.LSTM(16), layers.Dense(1)])
model.compile(optimizer='adam', loss='mean_squared_error')
model.fit(X_train, y_train, epochs=100, batch_size=64)"""


def letters(name: str, load: str, **kw: object) -> Case:
    """An OCR letters notebook reading the UCI file its own way."""
    return Case(name, "letters", kw.pop("status", "completed"), (L_IMPORTS, load, L_PREP, L_MODEL), **kw)  # type: ignore[arg-type]


def stock(name: str, load: str, **kw: object) -> Case:
    """A Google stock notebook loading the prices its own way, then the usual 60-day windows and an LSTM."""
    return Case(
        name,
        "stock",
        kw.pop("status", "completed"),
        ("import numpy as np\nimport pandas as pd", load, S_WINDOWS, S_MODEL),
        **kw,
    )  # type: ignore[arg-type]


CASES: list[Case] = [
    # -- course files under many names and paths
    boston(
        "b_colab_drive",
        "from google.colab import drive\ndrive.mount('/content/drive')\ndf = pd.read_csv('/content/drive/MyDrive/DL Lab/HousingData.csv')\n"
        + B_FILLNA,
        kinds=("colab", "file_variant", "keras_runtime"),
    ),
    boston("b_colab_content", "df = pd.read_csv('/content/BostonHousing.csv')", kinds=("file_alias",)),
    boston(
        "b_kaggle_input",
        "import os\nfor dirname, _, filenames in os.walk('/kaggle/input'):\n    print(dirname, filenames)\n"
        "df = pd.read_csv('/kaggle/input/boston-housing-dataset/HousingData.csv').dropna()",
        kinds=("file_variant",),
    ),
    boston(
        "b_windows_path", "df = pd.read_csv(r'C:\\Users\\Student\\Downloads\\BostonHousing.csv')", kinds=("file_alias",)
    ),
    boston("b_home_desktop", "df = pd.read_csv('/home/rahul/Desktop/DL/1_boston_housing.csv')", kinds=("file_alias",)),
    boston(
        "b_relative_alias",
        "df = pd.read_csv('boston.csv')\nprint(df['medv'].describe())",
        kinds=("file_variant",),
        details=("BostonHousing.csv",),
    ),
    boston(
        "b_subfolder_exists_check",
        "import os\npath = 'data/Boston.csv'\nassert os.path.exists(path), path\ndf = pd.read_csv(path)\nprint(df['MEDV'].mean())\n"
        + B_FILLNA,
        kinds=("file_variant",),
        details=("HousingData.csv",),
    ),
    boston(
        "b_open_csv_module",
        "import csv\nwith open('D:/college/sem7/housing_data.csv') as fh:\n    rows = list(csv.reader(fh))\n"
        "df = pd.DataFrame(rows[1:], columns=rows[0]).apply(pd.to_numeric, errors='coerce')\n" + B_FILLNA,
        kinds=("file_alias",),
    ),
    boston(
        "b_numpy_loadtxt",
        "data = np.loadtxt('/content/BostonHousing.csv', delimiter=',', skiprows=1)\ndf = pd.DataFrame(data)",
        kinds=("file_alias",),
    ),
    boston(
        "b_uci_whitespace",
        "cols = ['CRIM','ZN','INDUS','CHAS','NOX','RM','AGE','DIS','RAD','TAX','PTRATIO','B','LSTAT','MEDV']\n"
        "df = pd.read_csv('housing.csv', header=None, delim_whitespace=True, names=cols)",
        kinds=("file_variant", "pandas_compat"),
    ),
    boston(
        "b_missing_file",
        "df = pd.read_csv('my_final_house_prices_2024.csv')",
        status="missing_data_file",
        reason="my_final_house_prices_2024.csv",
    ),
    # -- datasets from the network
    Case(
        "b_keras_loader",
        "boston",
        "completed",
        (
            B_IMPORTS,
            "from tensorflow.keras.datasets import boston_housing\n(X_train, y_train), (X_test, y_test) = boston_housing.load_data(path='boston.npz', test_split=0.25, seed=7)\n"
            "scaler = StandardScaler().fit(X_train)\nX_train, X_test = scaler.transform(X_train), scaler.transform(X_test)",
            B_MODEL,
        ),
        ("dataset_served",),
    ),
    Case(
        "b_tf_keras_attr_loader",
        "boston",
        "completed",
        (
            B_IMPORTS,
            "import tensorflow as tf\n(X_train, y_train), (X_test, y_test) = tf.keras.datasets.boston_housing.load_data()\n"
            "scaler = StandardScaler().fit(X_train)\nX_train, X_test = scaler.transform(X_train), scaler.transform(X_test)",
            B_MODEL,
        ),
        ("dataset_served",),
    ),
    Case(
        "b_load_boston",
        "boston",
        "completed",
        (
            B_IMPORTS,
            "from sklearn.datasets import load_boston\nboston = load_boston()\nprint(boston.DESCR[:200])\nX, y = boston.data, boston.target\n"
            "print(pd.DataFrame(X, columns=boston.feature_names).head())",
            B_XY_SPLIT,
            B_MODEL,
        ),
        ("dataset_served",),
        details=("load_boston",),
    ),
    Case(
        "b_fetch_openml",
        "boston",
        "completed",
        (
            B_IMPORTS,
            "from sklearn.datasets import fetch_openml\nboston = fetch_openml(name='boston', version=1, as_frame=True)\n"
            "X = boston.data.astype(float).values\ny = boston.target.astype(float).values",
            B_XY_SPLIT,
            B_MODEL,
        ),
        ("dataset_served",),
    ),
    boston(
        "b_fetch_california",
        "from sklearn.datasets import fetch_california_housing\nhousing = fetch_california_housing()\ndf = pd.DataFrame(housing.data)",
        status="needs_network",
        reason="figshare",
    ),
    boston(
        "b_url_known",
        "url = 'https://raw.githubusercontent.com/selva86/datasets/master/BostonHousing.csv'\ndf = pd.read_csv(url)",
        kinds=("url_served",),
    ),
    boston(
        "b_url_statlib",
        "data_url = 'http://lib.stat.cmu.edu/datasets/boston'\nraw_df = pd.read_csv(data_url, sep=r'\\s+', skiprows=22, header=None)\n"
        "data = np.hstack([raw_df.values[::2, :], raw_df.values[1::2, :2]])\ntarget = raw_df.values[1::2, 2]\ndf = pd.DataFrame(np.column_stack([data, target]))",
        kinds=("url_served", "file_derived"),
    ),
    boston(
        "b_url_unknown",
        "df = pd.read_csv('https://myuniversity.example.edu/~prof/dl/house_prices.csv')",
        status="needs_network",
        reason="myuniversity.example.edu",
    ),
    boston(
        "b_urlretrieve_known",
        "import urllib.request\nurllib.request.urlretrieve('https://raw.githubusercontent.com/x/y/main/BostonHousing.csv', 'b.csv')\ndf = pd.read_csv('b.csv')",
        kinds=("url_served",),
    ),
    boston(
        "b_requests_offline",
        "import requests\nr = requests.get('https://api.example.org/boston.json', timeout=5)\ndf = pd.DataFrame(r.json())",
        status="needs_network",
        reason="api.example.org",
    ),
    # -- environment commands
    boston(
        "b_pip_wget",
        "!pip install -q pandas==2.0.3 scikit-learn\n%pip install tensorflow\n!wget -q https://raw.githubusercontent.com/selva86/datasets/master/BostonHousing.csv\n"
        "df = pd.read_csv('BostonHousing.csv')",
        kinds=("pip", "url_served"),
        details=("already installed",),
    ),
    boston(
        "b_pip_unavailable_unused",
        "!pip install pandas-profiling-extra-xyz\n!apt-get install -y graphviz\ndf = pd.read_csv('BostonHousing.csv')",
        kinds=("pip",),
        details=("cannot be installed offline",),
    ),
    boston(
        "b_import_missing", "import ydata_profiling\ndf = pd.read_csv('BostonHousing.csv')", requires="ydata_profiling"
    ),
    boston(
        "b_input",
        "epochs = int(input('How many epochs? '))\ndf = pd.read_csv('BostonHousing.csv')",
        status="needs_input",
        reason="How many epochs?",
    ),
    boston(
        "b_kaggle_cli",
        "!kaggle datasets download -d altavish/boston-housing-dataset\ndf = pd.read_csv('HousingData.csv').dropna()",
        status="needs_network",
        reason="kaggle",
    ),
    Case(
        "b_plots_headless",
        "boston",
        "completed",
        (
            "%matplotlib qt\n" + B_IMPORTS + "\nimport matplotlib.pyplot as plt",
            "df = pd.read_csv('BostonHousing.csv')\ndf.hist(figsize=(8, 8))\nplt.show()",
            B_SPLIT,
            B_MODEL,
            "plt.plot(history.history['loss'])\nplt.show()",
        ),
        ("headless",),
    ),
    # -- Keras 2 code
    Case(
        "b_keras2_legacy",
        "boston",
        "completed",
        (
            B_IMPORTS,
            "df = pd.read_csv('BostonHousing.csv')",
            B_SPLIT,
            "from keras.models import Sequential\nfrom keras.layers.core import Dense, Dropout\nfrom keras.optimizers import Adam\n"
            "model = Sequential()\nmodel.add(Dense(64, input_dim=13, activation='relu'))\nmodel.add(Dense(1))\n"
            "model.compile(optimizer=Adam(lr=0.01, decay=1e-5), loss='mean_squared_error')\nmodel.fit(X_train, y_train, epochs=200, batch_size=32, verbose=1)",
        ),
        ("keras_runtime", "keras2_compat"),
        details=("tf-keras", "lr=0.01"),
    ),
    Case(
        "b_keras2_fit_generator",
        "boston",
        "completed",
        (
            B_IMPORTS,
            "df = pd.read_csv('BostonHousing.csv')",
            B_SPLIT,
            "import tensorflow as tf\ndef batches(x, y, size=32):\n    while True:\n        idx = np.random.randint(0, len(x), size)\n        yield x[idx], y[idx]\n"
            "model = tf.keras.Sequential([tf.keras.layers.Dense(32, activation='relu', input_shape=(13,)), tf.keras.layers.Dense(1)])\n"
            "model.compile(optimizer='adam', loss='mse')\nmodel.fit_generator(batches(X_train, y_train), steps_per_epoch=12, epochs=150)",
        ),
        ("keras_runtime",),
        details=("fit_generator",),
    ),
    Case(
        "b_keras2_rerun",
        "boston",
        "completed",
        (
            B_IMPORTS,
            "df = pd.read_csv('BostonHousing.csv')",
            B_SPLIT,
            "from tensorflow.keras.layers.experimental.preprocessing import Normalization\nfrom tensorflow.keras import Sequential, layers\n"
            "norm = Normalization(input_shape=(13,))\nnorm.adapt(X_train)\nmodel = Sequential([norm, layers.Dense(32, activation='relu'), layers.Dense(1)])\n"
            "model.compile(optimizer='adam', loss='mse')\nmodel.fit(X_train, y_train, epochs=60)",
        ),
        ("keras_runtime",),
        details=("re-run",),
    ),
    Case(
        "b_keras_regressor_cv",
        "boston",
        "completed",
        (
            "import numpy as np\nimport pandas as pd\nfrom keras.models import Sequential\nfrom keras.layers import Dense\n"
            "from keras.wrappers.scikit_learn import KerasRegressor\nfrom sklearn.model_selection import cross_val_score, KFold\n"
            "from sklearn.preprocessing import StandardScaler\nfrom sklearn.pipeline import Pipeline",
            "dataframe = pd.read_csv('housing.csv', delim_whitespace=True, header=None)\ndataset = dataframe.values\nX = dataset[:, 0:13]\nY = dataset[:, 13]",
            "def baseline_model():\n    model = Sequential()\n    model.add(Dense(13, input_dim=13, kernel_initializer='normal', activation='relu'))\n"
            "    model.add(Dense(1, kernel_initializer='normal'))\n    model.compile(loss='mean_squared_error', optimizer='adam')\n    return model",
            "estimators = [('standardize', StandardScaler()), ('mlp', KerasRegressor(build_fn=baseline_model, epochs=50, batch_size=16, verbose=0))]\n"
            "pipeline = Pipeline(estimators)\nkfold = KFold(n_splits=3)\nresults = cross_val_score(pipeline, X, Y, cv=kfold)\n"
            "print('Standardized: %.2f (%.2f) MSE' % (results.mean(), results.std()))",
        ),
        ("keras_runtime", "keras2_compat", "file_variant"),
        details=("KerasRegressor",),
    ),
    # -- removed scikit-learn / pandas APIs, scikit-learn-only work
    Case(
        "b_removed_apis",
        "boston",
        "completed",
        (
            B_IMPORTS,
            "df = pd.read_csv('BostonHousing.csv')\ndf = df.append(df.iloc[:2], ignore_index=True)",
            B_SPLIT,
            B_MODEL,
            "from sklearn.metrics import mean_squared_error\nrmse = mean_squared_error(y_test, model.predict(X_test).ravel(), squared=False)\nprint('RMSE', rmse)",
        ),
        ("sklearn_compat", "pandas_compat"),
    ),
    Case(
        "b_sklearn_only",
        "boston",
        "no_model",
        (
            B_IMPORTS,
            "df = pd.read_csv('BostonHousing.csv')",
            B_SPLIT,
            "from sklearn.linear_model import LinearRegression\nreg = LinearRegression().fit(X_train, y_train)\nprint('R2', reg.score(X_test, y_test))",
        ),
        reason="LinearRegression",
    ),
    # -- mess
    Case(
        "b_stored_outputs",
        "boston",
        "completed",
        (B_IMPORTS, "df = pd.read_csv('HousingData.csv')\n" + B_FILLNA, B_SPLIT, B_MODEL),
        outputs={3: [STORED_TEXT, STORED_ERROR]},
    ),
    Case(
        "b_script",
        "boston",
        "completed",
        (B_IMPORTS, "df = pd.read_csv('BostonHousing.csv')", B_SPLIT, B_MODEL),
        suffix=".py",
    ),
    Case(
        "b_long_training",
        "boston",
        "completed",
        (B_IMPORTS, "df = pd.read_csv('BostonHousing.csv')", B_SPLIT, B_MODEL.replace("epochs=100", "epochs=500")),
        ("fit_budget",),
        details=("fit(epochs=500) trained",),
    ),
    # -- Fashion-MNIST
    fashion(
        "f_tf_keras_import",
        F_LOAD,
        F_MODEL,
        kinds=("dataset_served", "fit_budget", "keras_runtime"),
        details=("Keras 3",),
    ),
    fashion(
        "f_keras_import",
        "import keras\n(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()\nx_train, x_test = x_train / 255.0, x_test / 255.0",
        F_MODEL,
        kinds=("dataset_served",),
    ),
    fashion(
        "f_tf_attr_import",
        "import tensorflow as tf\nfashion = tf.keras.datasets.fashion_mnist\n(x_train, y_train), (x_test, y_test) = fashion.load_data()\nx_train, x_test = x_train / 255.0, x_test / 255.0",
        F_MODEL,
        kinds=("dataset_served",),
    ),
    fashion(
        "f_keras2_generator",
        "from keras.datasets import fashion_mnist\nfrom keras.preprocessing.image import ImageDataGenerator\nfrom keras.utils import np_utils\n"
        "(x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()\nx_train = x_train.reshape(-1, 28, 28, 1)\nx_test = x_test.reshape(-1, 28, 28, 1) / 255.0\n"
        "y_train_c = np_utils.to_categorical(y_train, 10)",
        "from keras.models import Sequential\nfrom keras.layers import Conv2D, MaxPooling2D, Flatten, Dense\n"
        "model = Sequential([Conv2D(8, (3, 3), activation='relu', input_shape=(28, 28, 1)), MaxPooling2D(), Flatten(), Dense(10, activation='softmax')])\n"
        "model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])\n"
        "gen = ImageDataGenerator(rescale=1.0 / 255, width_shift_range=0.05)\n"
        "model.fit_generator(gen.flow(x_train, y_train_c, batch_size=128), steps_per_epoch=len(x_train) // 128, epochs=30)",
        "pred = model.predict_classes(x_test)\nprint('accuracy', (pred == y_test).mean())",
        kinds=("keras_runtime", "fit_budget", "keras2_compat"),
        details=("tf-keras", "predict_classes"),
    ),
    fashion(
        "f_kaggle_pixel_csv",
        "import pandas as pd\ntrain = pd.read_csv('/kaggle/input/fashionmnist/fashion-mnist_train.csv')\ntest = pd.read_csv('/kaggle/input/fashionmnist/fashion-mnist_test.csv')\n"
        "x_train = train.iloc[:, 1:].values.reshape(-1, 28, 28) / 255.0\ny_train = train['label'].values\n"
        "x_test = test.iloc[:, 1:].values.reshape(-1, 28, 28) / 255.0\ny_test = test['label'].values",
        F_MODEL,
        kinds=("file_derived",),
    ),
    fashion(
        "f_confusion_matrix",
        F_LOAD,
        F_MODEL,
        "from sklearn.linear_model import LogisticRegression\nfrom sklearn.metrics import plot_confusion_matrix\nimport matplotlib.pyplot as plt\n"
        "clf = LogisticRegression(max_iter=50).fit(x_train[:500].reshape(500, -1), y_train[:500])\n"
        "plot_confusion_matrix(clf, x_test[:200].reshape(200, -1), y_test[:200])\nplt.show()",
        kinds=("sklearn_compat",),
    ),
    fashion(
        "f_colab_webcam",
        F_LOAD,
        F_MODEL,
        "from google.colab.output import eval_js\nfrom IPython.display import Javascript, display\n"
        "def take_photo(filename='photo.jpg', quality=0.8):\n    display(Javascript('/* camera */'))\n    data = eval_js('takePhoto({})'.format(quality))\n    return filename\n"
        "take_photo()",
        kinds=("interactive_end",),
        reason="camera",
    ),  # after training: the model is graded
    fashion(
        "f_colab_upload",
        "from google.colab import files\nuploaded = files.upload()\nprint(list(uploaded))",
        F_LOAD,
        F_MODEL,
        kinds=("colab",),
    ),
    fashion(
        "f_opencv",
        F_LOAD,
        F_MODEL,
        "import cv2\nimg = (x_test[0] * 255).astype('uint8')\ncv2.imshow('first test image', img)\ncv2.waitKey(0)\ncv2.destroyAllWindows()",
        kinds=("headless",),
        requires="cv2",
    ),
    fashion(
        "f_webcam_cv2",
        F_LOAD,
        F_MODEL,
        "import cv2\ncap = cv2.VideoCapture(0)\nok, frame = cap.read()",
        kinds=("interactive_end",),
        reason="VideoCapture",
        requires="cv2",
    ),
    fashion("f_tqdm", "from tqdm import tqdm\nfor _ in tqdm(range(3)):\n    pass\n" + F_LOAD, F_MODEL, requires="tqdm"),
    fashion(
        "f_open_missing_labels",
        F_LOAD,
        "labels = open('class_names.txt').read().splitlines()",
        status="missing_data_file",
        reason="class_names.txt",
    ),
    fashion(
        "f_pil_missing_image",
        F_LOAD,
        F_MODEL,
        "from PIL import Image\nimg = Image.open('/content/my_shirt.jpg').convert('L').resize((28, 28))",
        status="missing_data_file",
        reason="my_shirt.jpg",
    ),
    fashion(
        "f_other_keras_dataset",
        "from tensorflow.keras.datasets import cifar10\n(x_train, y_train), (x_test, y_test) = cifar10.load_data()",
        status="needs_network",
        reason="cifar10",
    ),
    Case(
        "OCR_letters_assignment", None, "completed", (F_LOAD, F_MODEL), ("dataset_served",)
    ),  # mislabelled: Fashion-MNIST code in a file called OCR
    # -- IMDB
    Case(
        "i_keras_imdb_args",
        "imdb",
        "completed",
        (
            "import numpy as np\nfrom keras.datasets import imdb\n(x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3)",
            I_VECTORIZE,
            I_MODEL,
        ),
        ("dataset_served",),
    ),
    Case(
        "i_word_index",
        "imdb",
        "completed",
        (
            "import numpy as np\nimport tensorflow as tf\n(x_train, y_train), (x_test, y_test) = tf.keras.datasets.imdb.load_data(num_words=10000)\n"
            "word_index = tf.keras.datasets.imdb.get_word_index()\nreverse = {v: k for k, v in word_index.items()}\nprint(' '.join(reverse.get(i - 3, '?') for i in x_train[0]))",
            I_VECTORIZE,
            I_MODEL,
        ),
        ("dataset_served",),
        details=("get_word_index",),
    ),
    Case(
        "i_keras2_tokenizer",
        "imdb",
        "completed",
        (
            "import numpy as np\nimport pandas as pd\nfrom keras.preprocessing.text import Tokenizer\nfrom keras.preprocessing.sequence import pad_sequences",
            "df = pd.read_csv('/content/drive/MyDrive/IMDB Dataset.csv')\ny = (df['sentiment'] == 'positive').astype('int32').values\n"
            "tok = Tokenizer(num_words=10000)\ntok.fit_on_texts(df['review'])\nx = tok.texts_to_matrix(df['review'], mode='binary')\n"
            "x_train, x_test, y_train, y_test = x[:4000], x[4000:], y[:4000], y[4000:]",
            I_MODEL,
        ),
        ("keras_runtime", "file_alias"),
        details=("tf-keras",),
    ),
    # -- OCR letters
    letters("l_subfolder", "df = pd.read_csv('OCR/letter-recognition.data', header=None)", kinds=("file_variant",)),
    letters(
        "l_drive_csv",
        "df = pd.read_csv('/content/drive/MyDrive/datasets/letter-recognition.csv', header=None)",
        kinds=("file_variant",),
    ),
    letters(
        "l_uci_url",
        "url = 'https://archive.ics.uci.edu/ml/machine-learning-databases/letter-recognition/letter-recognition.data'\ndf = pd.read_csv(url, header=None)",
        kinds=("url_served",),
    ),
    Case(
        "l_manual_mnist_keras2",
        "letters",
        "completed",
        (
            "from keras.datasets import mnist\nfrom keras.utils import np_utils\nfrom keras.optimizers import RMSprop\n"
            "(x_train, y_train), (x_test, y_test) = mnist.load_data()\nx_train = x_train.reshape(-1, 784).astype('float32') / 255\nx_test = x_test.reshape(-1, 784).astype('float32') / 255\n"
            "y_train, y_test = np_utils.to_categorical(y_train, 10), np_utils.to_categorical(y_test, 10)",
            "from keras.models import Sequential\nfrom keras.layers.core import Dense, Dropout\nmodel = Sequential()\nmodel.add(Dense(64, activation='relu', input_shape=(784,)))\n"
            "model.add(Dense(10, activation='softmax'))\nmodel.compile(loss='categorical_crossentropy', optimizer=RMSprop(lr=0.001), metrics=['accuracy'])\n"
            "model.fit(x_train, y_train, batch_size=128, epochs=20, verbose=1, validation_data=(x_test, y_test))",
        ),
        ("dataset_served", "keras_runtime", "keras2_compat"),
    ),
    # -- Google stock
    stock(
        "s_yfinance",
        "!pip install yfinance\nimport yfinance as yf\ntrain = yf.download('GOOG', start='2012-01-01', end='2017-01-01')",
        kinds=("pip", "dataset_served"),
        details=("yfinance",),
    ),
    stock(
        "s_trainset_alias",
        "train = pd.read_csv('trainset.csv')",
        kinds=("file_variant",),
        details=("Google_Stock_Price_Train.csv",),
    ),
    stock(
        "s_colab_path",
        "train = pd.read_csv('/content/drive/MyDrive/RNN/Google_Stock_Price_Train.csv')\ntest = pd.read_csv('/content/drive/MyDrive/RNN/Google_Stock_Price_Test.csv')",
        kinds=("file_alias",),
    ),
]


def _families() -> list[Case]:
    """The fixtures kept beside this file, one module per family of patterns."""
    import cases_data
    import cases_eval
    import cases_run

    return [*cases_data.CASES, *cases_run.CASES, *cases_eval.CASES]


CASES += _families()
