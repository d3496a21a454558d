#!/bin/sh
# Entry point of the mosquitto service: writes the password file and the ACL file from the
# environment (MQTT_MAEULD_USER/MQTT_MAEULD_PASSWORD for maeuld, MQTT_DEVICE_USER/MQTT_DEVICE_PASSWORD
# for devices), readable by the mosquitto user only, then runs the broker in the foreground.
set -eu
here=/etc/mosquitto/maeul
auth=/run/mosquitto-auth
: "${MQTT_MAEULD_USER:=maeuld}"
: "${MQTT_DEVICE_USER:=device}"
: "${MQTT_MAEULD_PASSWORD:?set MQTT_MAEULD_PASSWORD (docker/.env)}"
: "${MQTT_DEVICE_PASSWORD:?set MQTT_DEVICE_PASSWORD (docker/.env)}"

umask 077
mkdir -p "$auth"
rm -f "$auth/passwd"
: > "$auth/passwd"
mosquitto_passwd -b "$auth/passwd" "$MQTT_MAEULD_USER" "$MQTT_MAEULD_PASSWORD"
mosquitto_passwd -b "$auth/passwd" "$MQTT_DEVICE_USER" "$MQTT_DEVICE_PASSWORD"
sed -e "s/@MAEULD_USER@/$MQTT_MAEULD_USER/" -e "s/@DEVICE_USER@/$MQTT_DEVICE_USER/" "$here/acl.template" > "$auth/acl"
chown -R mosquitto:mosquitto "$auth" /var/lib/mosquitto
exec mosquitto -c "$here/mosquitto.conf"
