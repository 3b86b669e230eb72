%%time
result = df.apply(lambda row: expensive_feature(row), axis=1)
