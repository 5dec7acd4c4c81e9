# CPU image: installs mist and runs its command line.
#   docker build -t mist .
#   docker run --rm mist estimate --example
FROM python:3.11-slim
WORKDIR /opt/mist
COPY . .
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir .
ENV WANDB_MODE=offline
ENTRYPOINT ["mist"]
CMD ["--help"]
