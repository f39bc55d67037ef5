# The settings the examples read: edit them for your network and servers, and
# copy this file to the board next to the example (see README.md here).
# Every example reads them as settings.NAME when it runs.

# The Wi-Fi network the WizFi360 joins (2.4 GHz only).
SSID = "my-ap"
KEY = "my-password"

# first.py: a web server it asks for "/" over plain TCP.
WEB_HOST = "example.com"
WEB_PORT = 80

# http_get.py: the URL it fetches with requests.
HTTP_URL = "http://example.com/"

# tls_get.py: an HTTPS server it asks for TLS_PATH over the module's TLS.
TLS_HOST = "example.com"
TLS_PORT = 443
TLS_PATH = "/"

# mqtt_pubsub.py: an MQTT broker, and the topic it publishes to and listens on.
MQTT_BROKER = "test.mosquitto.org"
MQTT_PORT = 1883
MQTT_TOPIC = "wizfi360/example"

# ntp_time.py: an NTP server.
NTP_HOST = "pool.ntp.org"
NTP_PORT = 123

# tcp_server.py: the port its TCP server listens on.
SERVER_PORT = 8000

# softap.py: the access point the module opens, and how long it waits for a client.
AP_SSID = "wizfi360-setup"
AP_KEY = "change-me-123"  # 8 to 64 characters
AP_CHANNEL = 6
AP_WAIT_S = 120
