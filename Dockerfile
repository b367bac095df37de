FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/app/.venv UV_PYTHON_DOWNLOADS=never
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev
COPY . .
RUN SECRET_KEY=build FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMzItYnl0ZXMtbG9uZy0hISE= \
    /app/.venv/bin/python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["/app/.venv/bin/gunicorn", "billing_panel.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
