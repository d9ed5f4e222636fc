"""Monthly active users: matches its sibling reference trend.ref.png."""
import matplotlib.pyplot as plt
import numpy as np

months = np.arange(1, 13)
users = np.array([3.1, 3.4, 3.9, 4.2, 4.8, 5.1, 5.0, 5.6, 6.2, 6.8, 7.1, 7.9])

fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
ax.plot(months, users, color="#55A868", linewidth=2, marker="o", label="MAU (M)")
ax.set_title("Monthly active users")
ax.set_xlabel("Month")
ax.set_ylabel("Users (millions)")
ax.legend(loc="upper left")
fig.tight_layout()
