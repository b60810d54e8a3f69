"""Realistic fixtures:
data files found by content, holdouts that keep a read's length, variants' dates and lengths, reads named for
other datasets.

Each case is a small notebook written to a pattern seen in students' work (never a copy of one), with the
outcome it deserves; ``cases.CASES`` includes them, so ``test_realistic.py`` grades them and
``benchmarks/realistic.py`` lists their expected statuses.
"""

from __future__ import annotations

from cases import I_MODEL, L_IMPORTS, L_MODEL, S_MODEL, S_WINDOWS, Case, stock


def _plain(text: str, count: int = 1) -> list[dict[str, object]]:
    """A saved text/plain result."""
    return [{"output_type": "execute_result", "execution_count": count, "metadata": {}, "data": {"text/plain": text}}]


def _html_table(columns: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{c}</th>" for c in columns)
    body = "".join(f"<tr><th>{i}</th>{''.join(f'<td>{v}</td>' for v in row)}</tr>" for i, row in enumerate(rows))
    return f'<table border="1" class="dataframe"><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>'


def _table(columns: list[str], rows: list[list[str]], plain: str) -> list[dict[str, object]]:
    """A saved DataFrame display: its HTML table and its text/plain form."""
    data = {"text/html": _html_table(columns, rows), "text/plain": plain}
    return [{"output_type": "execute_result", "execution_count": 2, "metadata": {}, "data": data}]


def _stream(text: str) -> list[dict[str, object]]:
    return [{"output_type": "stream", "name": "stdout", "text": text}]


# the Kaggle training file's first rows as a notebook prints df.head() of it (its own quoting of Volume)
KAGGLE_HEAD = """       Date    Open    High     Low   Close      Volume
0  1/3/2012  325.25  332.83  324.97  663.59   7,380,500
1  1/4/2012  331.27  333.87  329.08  666.45   5,749,400
2  1/5/2012  329.83  330.75  326.89  657.21   6,590,300
3  1/6/2012  328.34  328.77  323.68  648.24   5,405,900
4  1/9/2012  322.04  322.29  309.46  620.76  11,688,800"""

# 15-day windows of a short export: some 44 windows to train on, 11 steps of 4 an epoch
S_SHORT_WINDOWS = """from sklearn.preprocessing import MinMaxScaler
training_set = train[['Open']].values.astype('float32')
sc = MinMaxScaler(feature_range=(0, 1))
scaled = sc.fit_transform(training_set)
X_train = np.array([scaled[i - 15:i, 0] for i in range(15, len(scaled))]).reshape(-1, 15, 1)
y_train = scaled[15:, 0]
print(X_train.shape)"""
S_SHORT_MODEL = """from tensorflow.keras import Sequential, layers
model = Sequential([layers.Input(shape=(15, 1)), layers.LSTM(16), layers.Dense(1)])
model.compile(optimizer='adam', loss='mean_squared_error')
model.fit(X_train, y_train, epochs=20, batch_size=4)"""
PROGRESS_11 = "".join(
    f"Epoch {e}/20\n11/11 [==============================] - 0s 6ms/step - loss: {0.2 / e:.4f}\n" for e in range(1, 21)
)

L_OPENML = """from sklearn.datasets import fetch_openml
letters = fetch_openml(name='letter', version=1, as_frame=True)
X = letters.data.values.astype('float32')
y = LabelEncoder().fit_transform(letters.target)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)"""

I_OWN_NAME_LOAD = """df = pd.read_csv('/content/drive/MyDrive/DL/movie_reviews_50k.csv')
df.head()"""
I_OWN_NAME_PREP = """from tensorflow.keras.preprocessing.text import Tokenizer
y = (df['sentiment'] == 'positive').astype('int32').values
tok = Tokenizer(num_words=10000)
tok.fit_on_texts(df['review'][:5000])
x = tok.texts_to_matrix(df['review'][:5000], mode='binary')
x_train, x_test, y_train, y_test = x[:4000], x[4000:], y[:4000], y[4000:5000]"""

CASES: list[Case] = [
    # -- family 4: a course file under a name of the student's own, found by the notebook's own evidence
    stock(
        "s_own_name_by_saved_head",
        "train = pd.read_csv('/content/drive/MyDrive/RNN/my_prices_2012_2016.csv')\ntrain.head()",
        kinds=("file_variant",),
        details=("found by content", "saved outputs of train.head()"),
        outputs={1: _plain(KAGGLE_HEAD)},
    ),
    Case(
        "i_own_name_by_saved_table",
        "imdb",
        "completed",
        ("import numpy as np\nimport pandas as pd", I_OWN_NAME_LOAD, "df.shape", I_OWN_NAME_PREP, I_MODEL),
        ("file_variant",),
        details=("found by content", "review, sentiment"),
        outputs={
            1: _table(
                ["review", "sentiment"],
                [
                    ["A quiet film that grows on you, scene by scene.", "positive"],
                    ["Two hours I will not get back.", "negative"],
                ],
                "                                              review sentiment\n...",
            ),
            2: _plain("(50000, 2)", 3),
        },
    ),
    Case(
        "l_fetch_openml_letter",
        "letters",
        "completed",
        (
            L_IMPORTS,
            L_OPENML,
            L_MODEL,
        ),
        ("dataset_served",),
        details=("fetch_openml(name='letter')",),
    ),
    # -- family 4 / 15: a file named for another company's ticker is another company's prices, whatever its columns
    stock(
        "s_other_ticker",
        "train = pd.read_csv('/content/drive/MyDrive/stocks/AAPL.csv')\ntrain.shape",
        status="missing_data_file",
        reason="AAPL.csv",
        outputs={1: _plain("(2264, 7)")},
    ),
    # -- family 5: the holdout never shortens a read below the author's 60-day window
    stock(
        "s_short_export_keeps_its_length",
        "train = pd.read_csv('goog.csv')\nprint(len(train))\nassert len(train) == 61, len(train)",
        kinds=("file_variant",),
        details=("v08", "replaced by the 32 trading days before its first day"),
    ),
    # -- family 6: saved progress bars say how many rows the author trained on
    Case(
        "s_progress_bar_rows",
        "stock",
        "completed",
        (
            "import numpy as np\nimport pandas as pd",
            "train = pd.read_csv('Google_Stock_Price_Train.csv')\nassert len(train) == 61, len(train)",
            S_SHORT_WINDOWS,
            S_SHORT_MODEL,
        ),
        ("file_variant",),
        details=("v08", "saved training run"),
        outputs={2: _stream("(46, 15, 1)\n"), 3: _stream(PROGRESS_11)},
    ),
    # -- family 12: an Excel-era file whose dates are in two forms parses as it did for its author (pandas 1.x,
    #    date by date), and a positional split at the author's row 1258 still has the rows after it
    Case(
        "s_mixed_dates_positional_split",
        "stock",
        "completed",
        (
            "import numpy as np\nimport pandas as pd",
            "train = pd.read_csv('Google_Stock_Price_Train.csv')\ntrain.shape",
            "train['Date'] = pd.to_datetime(train['Date'])\ntrain = train.sort_values('Date')\n"
            "test = train.iloc[1258:]\nprint(len(test))\nassert len(test) == 251, len(test)\ntrain = train.iloc[:1258]",
            S_WINDOWS,
            S_MODEL,
        ),
        ("file_variant", "pandas_compat"),
        details=("v05", "parsed one by one, as pandas 1.x did"),
        outputs={1: _plain("(1509, 6)")},
    ),
    # -- family 4: a saved table of another dataset outranks a name that would route the read to a course file
    Case(
        "i_other_table_under_imdb_name",
        "imdb",
        "missing_data_file",
        (
            "import numpy as np\nimport pandas as pd",
            "movies = pd.read_csv('imdb_top_1000.csv')\nmovies.head()",
            "movies = movies[['Series_Title', 'IMDB_Rating', 'No_of_Votes']]",
        ),
        ("file_refused",),
        reason="imdb_top_1000.csv",
        details=("columns of another table",),
        outputs={
            1: _table(
                ["Series_Title", "Released_Year", "Runtime", "Genre", "IMDB_Rating", "No_of_Votes"],
                [["A Made-up Film", "1999", "121 min", "Drama", "8.1", "120345"]],
                "  Series_Title Released_Year ...",
            )
        },
    ),
]
