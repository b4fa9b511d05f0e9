package main

import (
	"example.com/bluegreen/sdk/go/bluegreen"
	"example.com/bluegreen/sdk/go/bluegreen/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		conf := config.New(ctx, "")
		active := conf.Get("activeColor")
		if active == "" {
			active = "blue"
		}
		api, err := docker.NewBlueGreenService(ctx, "api", &docker.BlueGreenServiceArgs{
			ActiveColor: bluegreen.Color(active),
			Colors: docker.ColorsArgs{
				Blue:  docker.ColorSettingsArgs{Image: pulumi.String("bluegreen/demo:1.0.0")},
				Green: docker.ColorSettingsArgs{Image: pulumi.String("bluegreen/demo:2.0.0")},
			},
			Proxy: docker.ProxySettingsArgs{Port: pulumi.Int(8380), PreviewPort: pulumi.Int(8381)},
		})
		if err != nil {
			return err
		}
		ctx.Export("url", api.Url)
		return nil
	})
}
