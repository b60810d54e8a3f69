"""Realistic fixtures:
what the evaluator scores: scikit-learn text features, multi-feature stock windows, models that abort
TensorFlow natively, Embedding lookups beyond the vocabulary (zeros on the students' GPU).

Each case is a small notebook written to a pattern seen in students' work (never a copy of one), with the
outcome it deserves; ``cases.CASES`` includes them, so ``test_realistic.py`` grades them and
``benchmarks/realistic.py`` lists their expected statuses.
"""

from __future__ import annotations

from cases import Case

# A progress line of Keras 2 (tf-keras), as the author's saved outputs show it.
KERAS2_BAR: dict[str, object] = {
    "output_type": "stream",
    "name": "stdout",
    "text": "Epoch 1/5\n1875/1875 [==============================] - 21s 11ms/step - loss: 0.4712 - accuracy: 0.8311\n",
}

CASES: list[Case] = [
    # -- 9. a Dense network on TfidfVectorizer features of the review CSV: scored with that very vectorizer
    Case(
        "e_imdb_tfidf_dense",
        "imdb",
        "completed",
        (
            "import numpy as np\nimport pandas as pd\nfrom sklearn.feature_extraction.text import TfidfVectorizer\n"
            "from sklearn.model_selection import train_test_split",
            "data = pd.read_csv('IMDB Dataset.csv')\ndata = data.sample(12000, random_state=7)\n"
            "labels = data['sentiment'].map({'positive': 1, 'negative': 0}).values",
            "vectorizer = TfidfVectorizer(max_features=5000, stop_words='english')\n"
            "features = vectorizer.fit_transform(data['review']).toarray()\n"
            "X_train, X_test, y_train, y_test = train_test_split(features, labels, test_size=0.2, random_state=42)\n"
            "print(X_train.shape)",
            "from tensorflow.keras.models import Sequential\n"
            "from tensorflow.keras.layers import Dense, Dropout, Input\n"
            "model = Sequential([Input(shape=(5000,)), Dense(64, activation='relu'), Dropout(0.5), "
            "Dense(1, activation='sigmoid')])\n"
            "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
            "model.fit(X_train, y_train, epochs=5, batch_size=128, validation_split=0.1)",
            "loss, acc = model.evaluate(X_test, y_test)\nprint('Test accuracy:', acc)",
        ),
    ),
    # -- 9. the same idea through a Pipeline (counts, then tf-idf weights) kept sparse until fit
    Case(
        "e_imdb_count_tfidf_pipeline",
        "imdb",
        "completed",
        (
            "import pandas as pd\nfrom sklearn.pipeline import Pipeline\n"
            "from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer",
            "df = pd.read_csv('IMDB Dataset.csv').head(10000)\n"
            "y = (df.sentiment == 'positive').astype('float32').values\n"
            "text_pipe = Pipeline([('counts', CountVectorizer(max_features=3000, ngram_range=(1, 2))), "
            "('tfidf', TfidfTransformer(sublinear_tf=True))])\n"
            "X = text_pipe.fit_transform(df.review).toarray().astype('float32')\n"
            "x_train, x_test, y_train, y_test = X[:8000], X[8000:], y[:8000], y[8000:]",
            "import keras\nmodel = keras.Sequential([keras.Input((3000,)), keras.layers.Dense(32, activation='relu'), "
            "keras.layers.Dense(1, activation='sigmoid')])\n"
            "model.compile('rmsprop', 'binary_crossentropy', metrics=['accuracy'])\n"
            "model.fit(x_train, y_train, epochs=4, batch_size=64, validation_data=(x_test, y_test))\n"
            "print(model.evaluate(x_test, y_test))",
        ),
    ),
    # -- 14. all of imdb.load_data()'s words (indices up to ~88,000) into Embedding(10000): zeros, as on a GPU
    Case(
        "e_imdb_embedding_past_vocabulary",
        "imdb",
        "completed",
        (
            "import numpy as np\nfrom tensorflow.keras.datasets import imdb\n"
            "from tensorflow.keras.preprocessing.sequence import pad_sequences\n"
            "(x_train, y_train), (x_test, y_test) = imdb.load_data()\n"
            "x_train = pad_sequences(x_train, maxlen=200)\nx_test = pad_sequences(x_test, maxlen=200)",
            "from tensorflow.keras import Sequential\n"
            "from tensorflow.keras.layers import Embedding, GlobalAveragePooling1D, Dense\n"
            "model = Sequential([Embedding(10000, 32), GlobalAveragePooling1D(), Dense(16, activation='relu'), "
            "Dense(1, activation='sigmoid')])\n"
            "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
            "history = model.fit(x_train, y_train, epochs=3, batch_size=256, validation_split=0.2)",
            "print(model.evaluate(x_test, y_test))",
        ),
        ("gpu_embedding",),
        details=("beyond the layer's vocabulary (input_dim 10,000",),
    ),
    # -- 13. Keras 2 era: a Conv2D declared on (28, 28, 1) trained and evaluated on the 3-D arrays (tf-keras adds
    #    the channel); the evaluator feeds its own split the same way instead of handing TensorFlow a 3-D batch
    Case(
        "e_fashion_conv2d_3d_arrays_keras2",
        "fashion",
        "completed",
        (
            "import numpy as np\nfrom keras.datasets import fashion_mnist\n"
            "(x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()\n"
            "x_train = x_train.astype('float32') / 255\nx_test = x_test.astype('float32') / 255",
            "from keras.models import Sequential\nfrom keras.layers import Conv2D, MaxPooling2D, Flatten, Dense\n"
            "model = Sequential()\nmodel.add(Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))\n"
            "model.add(MaxPooling2D((2, 2)))\nmodel.add(Flatten())\nmodel.add(Dense(64, activation='relu'))\n"
            "model.add(Dense(10, activation='softmax'))\n"
            "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
            "model.fit(x_train, y_train, epochs=5, batch_size=32)",
            "test_loss, test_acc = model.evaluate(x_test, y_test)\nprint('Test accuracy:', test_acc)",
        ),
        ("keras_runtime",),
        details=("Keras 2",),
        outputs={2: [KERAS2_BAR]},
    ),
    # -- 10. windows of the five columns a day (10, 5), one MinMaxScaler over all of them, forecasting the Open
    Case(
        "e_stock_ohlcv_windows",
        "stock",
        "completed",
        (
            "import numpy as np\nimport pandas as pd\nfrom sklearn.preprocessing import MinMaxScaler",
            "df = pd.read_csv('Google_Stock_Price_Train.csv')\n"
            "for col in ['Close', 'Volume']:\n    df[col] = df[col].astype(str).str.replace(',', '').astype(float)\n"
            "data = df[['Open', 'High', 'Low', 'Close', 'Volume']].values\n"
            "scaler = MinMaxScaler()\nscaled = scaler.fit_transform(data)",
            "window = 10\nX, y = [], []\nfor i in range(window, len(scaled)):\n"
            "    X.append(scaled[i - window:i])\n    y.append(scaled[i, 0])\nX, y = np.array(X), np.array(y)\n"
            "print(X.shape, y.shape)",
            "from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.layers import LSTM, Dense, Input\n"
            "model = Sequential([Input(shape=(window, 5)), LSTM(32), Dense(1)])\n"
            "model.compile(optimizer='adam', loss='mse')\nmodel.fit(X, y, epochs=30, batch_size=32)",
        ),
    ),
    # -- 10. two named columns of GOOGL.csv (60, 2), the scaler fitted on the DataFrame, forecasting the Close
    Case(
        "e_stock_close_volume_googl",
        "stock",
        "completed",
        (
            "import numpy as np\nimport pandas as pd\nfrom sklearn.preprocessing import MinMaxScaler\n"
            "from tensorflow import keras",
            "prices = pd.read_csv('GOOGL.csv', parse_dates=['Date'], index_col='Date')\n"
            "frame = prices[['Close', 'Volume']].dropna()\nsc = MinMaxScaler(feature_range=(0, 1))\n"
            "values = sc.fit_transform(frame)",
            "steps = 60\nx_train = np.array([values[i - steps:i] for i in range(steps, len(values))])\n"
            "y_train = values[steps:, 0]",
            "model = keras.Sequential([keras.layers.Input((steps, 2)), keras.layers.GRU(24), keras.layers.Dense(1)])\n"
            "model.compile(optimizer='adam', loss='mean_squared_error')\n"
            "model.fit(x_train, y_train, epochs=10, batch_size=64, validation_split=0.1)",
        ),
    ),
    # -- 10. (30, 12): the five columns and seven features engineered from the Close (moving averages, MACD,
    #    returns, volatility), one scaler over all twelve, forecasting the Close
    Case(
        "e_stock_engineered_features",
        "stock",
        "completed",
        (
            "import numpy as np\nimport pandas as pd\nfrom sklearn.preprocessing import StandardScaler",
            "df = pd.read_csv('Google_Stock_Price_Train.csv')\n"
            "df['Close'] = df['Close'].astype(str).str.replace(',', '').astype(float)\n"
            "df['Volume'] = df['Volume'].astype(str).str.replace(',', '').astype(float)\n"
            "df['MA7'] = df['Close'].rolling(7).mean()\ndf['MA21'] = df['Close'].rolling(21).mean()\n"
            "df['EMA12'] = df['Close'].ewm(span=12, adjust=False).mean()\n"
            "df['EMA26'] = df['Close'].ewm(span=26, adjust=False).mean()\ndf['MACD'] = df['EMA12'] - df['EMA26']\n"
            "df['Return'] = df['Close'].pct_change()\ndf['Volatility'] = df['Close'].rolling(20).std()\n"
            "df = df.dropna().reset_index(drop=True)\nprint(df.shape)",
            "cols = ['Open', 'High', 'Low', 'Close', 'Volume', 'MA7', 'MA21', 'EMA12', 'EMA26', 'MACD', 'Return', "
            "'Volatility']\nscaler = StandardScaler()\ndata = scaler.fit_transform(df[cols].values)\n"
            "lookback = 30\nX = np.array([data[i - lookback:i] for i in range(lookback, len(data))])\n"
            "y = data[lookback:, cols.index('Close')]\nprint(X.shape, y.shape)",
            "from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.layers import LSTM, Dense, Dropout\n"
            "model = Sequential([LSTM(48, input_shape=(lookback, len(cols))), Dropout(0.2), Dense(1)])\n"
            "model.compile(optimizer='adam', loss='mse')\n"
            "model.fit(X, y, epochs=25, batch_size=32, validation_split=0.1)",
        ),
    ),
]
