import statsmodels.formula.api as smf

fit = smf.ols("price ~ sqft + bedrooms + C(neighborhood)", data=houses).fit()
print(fit.summary())
