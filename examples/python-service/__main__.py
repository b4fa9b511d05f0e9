import pulumi
import pulumi_bluegreen as bluegreen

config = pulumi.Config()
api = bluegreen.docker.BlueGreenService("api",
    active_color=bluegreen.Color(config.get("activeColor") or "blue"),
    colors={"blue": {"image": "bluegreen/demo:1.0.0"}, "green": {"image": "bluegreen/demo:2.0.0"}},
    proxy={"port": config.get_int("port") or 8380, "preview_port": config.get_int("previewPort") or 8381})
pulumi.export("url", api.url)
