# %%
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

# %%
df = pd.read_csv('BostonHousing.csv')

# %%
X = df.iloc[:, :13].values.astype('float32')
y = df.iloc[:, 13].values.astype('float32')
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# %%
from tensorflow import keras
model = keras.Sequential([keras.Input(shape=(13,)), keras.layers.Dense(64, activation='relu'), keras.layers.Dense(32, activation='relu'), keras.layers.Dense(1)])
model.compile(optimizer='adam', loss='mse', metrics=['mae'])
history = model.fit(X_train, y_train, epochs=100, batch_size=16, validation_split=0.1)
print('test mse, mae:', model.evaluate(X_test, y_test, verbose=0))
