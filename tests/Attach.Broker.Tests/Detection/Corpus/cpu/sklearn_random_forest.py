from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
clf = RandomForestClassifier(n_estimators=500, n_jobs=-1, random_state=0)
clf.fit(X_train, y_train)
print(classification_report(y_test, clf.predict(X_test)))
