// Baseline: the dashboard contract subset written the way a Go team would, with
// gorilla/websocket and golang-jwt: a goroutine pair per connection, a buffered send channel,
// and a mutex-guarded map of users. Build offline in GOPATH mode (see bench/compare).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt"
	"github.com/gorilla/websocket"
)

type client struct {
	user string
	send chan []byte
}

type task struct {
	audience []string
	status   bool
}

type hub struct {
	mu       sync.Mutex
	clients  map[string]map[*client]struct{}
	tasks    map[string]task
	byUser   map[string]map[string]bool // user -> task -> status, for naive stats
	eventIDs map[string]int64
}

var (
	upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024, CheckOrigin: func(*http.Request) bool { return true }}
	pathRe   = regexp.MustCompile(`^/ws/dashboard/([A-Za-z0-9._-]{1,64})$`)
	secret   = flag.String("jwt-secret", "", "HS256 secret")
	key      = flag.String("ingest-key", "", "ingest bearer key")
	port     = flag.Int("port", 9003, "port")
)

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

func envelope(typ string, payload interface{}, id string) []byte {
	m := map[string]interface{}{"type": typ, "payload": payload, "timestamp": now()}
	if id != "" {
		m["id"] = id
	}
	b, _ := json.Marshal(m)
	return b
}

func (h *hub) stats(user string) map[string]interface{} {
	total, completed := 0, 0
	for _, status := range h.byUser[user] {
		total++
		if status {
			completed++
		}
	}
	return map[string]interface{}{"totalTasks": total, "completedTasks": completed, "pendingTasks": total - completed, "updatedAt": now()}
}

func (h *hub) sendTo(user string, msg []byte) {
	for c := range h.clients[user] {
		select {
		case c.send <- msg:
		default: // slow client: drop it
			delete(h.clients[user], c)
			close(c.send)
		}
	}
}

type event struct {
	Action     string                 `json:"action"`
	UserID     interface{}            `json:"userId"`
	SharedWith []interface{}          `json:"sharedWith"`
	Task       map[string]interface{} `json:"task"`
}

func (h *hub) ingest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+*key {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var events []event
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "[") {
		if err := json.Unmarshal(raw, &events); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
	} else {
		var e event
		if err := json.Unmarshal(raw, &e); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		events = []event{e}
	}
	h.mu.Lock()
	touched := map[string]bool{}
	ids := []map[string]string{}
	for _, e := range events {
		owner := fmt.Sprint(e.UserID)
		audience := []string{owner}
		for _, u := range e.SharedWith {
			audience = append(audience, fmt.Sprint(u))
		}
		taskID := fmt.Sprint(e.Task["id"])
		if old, ok := h.tasks[taskID]; ok {
			for _, u := range old.audience {
				delete(h.byUser[u], taskID)
			}
		}
		status, _ := e.Task["status"].(bool)
		if e.Action == "deleted" {
			delete(h.tasks, taskID)
		} else {
			h.tasks[taskID] = task{audience, status}
			for _, u := range audience {
				if h.byUser[u] == nil {
					h.byUser[u] = map[string]bool{}
				}
				h.byUser[u][taskID] = status
			}
		}
		eventIDs := map[string]string{}
		for _, u := range audience {
			h.eventIDs[u]++
			id := fmt.Sprint(h.eventIDs[u])
			eventIDs[u] = id
			touched[u] = true
			if len(h.clients[u]) > 0 {
				h.sendTo(u, envelope("task_update", map[string]interface{}{"taskId": e.Task["id"], "action": e.Action, "task": e.Task}, id))
			}
		}
		ids = append(ids, eventIDs)
	}
	for u := range touched {
		if len(h.clients[u]) > 0 {
			h.sendTo(u, envelope("dashboard_update", h.stats(u), ""))
		}
	}
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]interface{}{"accepted": len(events), "events": ids})
}

func (h *hub) serveWs(w http.ResponseWriter, r *http.Request) {
	m := pathRe.FindStringSubmatch(r.URL.Path)
	if m == nil {
		http.NotFound(w, r)
		return
	}
	user := m[1]
	tokenString := r.URL.Query().Get("token")
	code, closeCode := "", 0
	token, err := jwt.Parse(tokenString, func(t *jwt.Token) (interface{}, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, fmt.Errorf("unexpected alg")
		}
		return []byte(*secret), nil
	})
	if err != nil {
		code, closeCode = "AUTH_INVALID", 4001
		if ve, ok := err.(*jwt.ValidationError); ok && ve.Errors&jwt.ValidationErrorExpired != 0 {
			code, closeCode = "AUTH_EXPIRED", 4002
		}
	} else if claims, ok := token.Claims.(jwt.MapClaims); !ok || fmt.Sprint(claims["sub"]) != user {
		code, closeCode = "AUTH_INVALID", 4001
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	if code != "" {
		conn.WriteMessage(websocket.TextMessage, envelope("error", map[string]string{"code": code, "message": code}, ""))
		conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(closeCode, code))
		conn.Close()
		return
	}
	c := &client{user: user, send: make(chan []byte, 256)}
	h.mu.Lock()
	if h.clients[user] == nil {
		h.clients[user] = map[*client]struct{}{}
	}
	h.clients[user][c] = struct{}{}
	h.mu.Unlock()
	c.send <- envelope("connection_success", map[string]string{"userId": user, "message": "Successfully connected to dashboard updates"}, "")
	go writePump(conn, c)
	readPump(h, conn, c)
}

func writePump(conn *websocket.Conn, c *client) {
	defer conn.Close()
	for msg := range c.send {
		if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			return
		}
	}
}

func readPump(h *hub, conn *websocket.Conn, c *client) {
	defer func() {
		h.mu.Lock()
		if _, ok := h.clients[c.user][c]; ok {
			delete(h.clients[c.user], c)
			close(c.send)
		}
		h.mu.Unlock()
		conn.Close()
	}()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var msg struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &msg) != nil {
			return
		}
		h.mu.Lock()
		if _, ok := h.clients[c.user][c]; ok {
			switch msg.Type {
			case "ping":
				h.sendOne(c, envelope("pong", msg.Payload, ""))
			case "subscribe_dashboard":
				h.sendOne(c, envelope("subscribed", map[string]string{"userId": c.user}, ""))
				h.sendOne(c, envelope("dashboard_update", h.stats(c.user), ""))
			}
		}
		h.mu.Unlock()
	}
}

func (h *hub) sendOne(c *client, msg []byte) {
	select {
	case c.send <- msg:
	default:
	}
}

func main() {
	flag.Parse()
	h := &hub{clients: map[string]map[*client]struct{}{}, tasks: map[string]task{}, byUser: map[string]map[string]bool{}, eventIDs: map[string]int64{}}
	http.HandleFunc("/api/v1/events", h.ingest)
	http.HandleFunc("/ws/dashboard/", h.serveWs)
	log.Printf("baseline-go listening on 127.0.0.1:%d", *port)
	log.Fatal(http.ListenAndServe(fmt.Sprintf("127.0.0.1:%d", *port), nil))
}
