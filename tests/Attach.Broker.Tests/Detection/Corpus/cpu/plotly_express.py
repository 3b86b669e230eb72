import plotly.express as px

fig = px.scatter(df, x="gdp_per_capita", y="life_expectancy", size="population", color="continent",
                 hover_name="country", log_x=True, animation_frame="year")
fig.show()
