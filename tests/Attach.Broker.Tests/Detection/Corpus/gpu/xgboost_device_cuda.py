import xgboost as xgb

clf = xgb.XGBClassifier(n_estimators=2000, max_depth=8, tree_method="hist", device="cuda")
clf.fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=200)
