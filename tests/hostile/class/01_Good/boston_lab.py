# %% Boston housing: a small, honest DNN (the control submission of the hostile class)
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
import keras

# %%
df = pd.read_csv("BostonHousing.csv")
X, y = df.drop(columns=["medv"]).values, df["medv"].values
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
sc = StandardScaler()
X_train, X_test = sc.fit_transform(X_train), sc.transform(X_test)

# %%
model = keras.Sequential([keras.layers.Input((13,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mean_squared_error", metrics=["mae"])
model.fit(X_train, y_train, epochs=30, validation_split=0.05)
print(model.evaluate(X_test, y_test))
