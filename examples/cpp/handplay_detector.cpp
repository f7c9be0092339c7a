// handplay_detector.cpp - see handplay_detector.hpp. Depends on OpenCV core, imgproc, dnn.
#include "handplay_detector.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <locale>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace handplay {
namespace {

// ---- a minimal JSON reader: enough for hand.json (objects, arrays, strings, numbers, null) ----
struct Json {
    enum class Type { Null, Bool, Number, String, Array, Object } type = Type::Null;
    double number = 0;
    bool boolean = false;
    std::string string;
    std::vector<Json> array;
    std::map<std::string, Json> object;

    const Json& at(const std::string& key) const {
        auto it = object.find(key);
        if (type != Type::Object || it == object.end())
            throw std::runtime_error("missing key \"" + key + "\"");
        return it->second;
    }
    bool has(const std::string& key) const { return object.count(key) > 0; }
};

class JsonParser {
public:
    explicit JsonParser(const std::string& text) : s_(text) {}
    Json parse() {
        Json v = value();
        space();
        if (i_ != s_.size()) fail("trailing characters");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("JSON: " + what + " at character " + std::to_string(i_));
    }
    void space() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    bool take(char c) {
        space();
        if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
        return false;
    }
    void expect(char c) {
        if (!take(c)) fail(std::string("expected '") + c + "'");
    }
    bool word(const char* w) {
        size_t n = std::char_traits<char>::length(w);
        if (s_.compare(i_, n, w) != 0) return false;
        i_ += n;
        return true;
    }
    std::string str() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c == '\\' && i_ < s_.size()) {
                char e = s_[i_++];
                const std::string from = "\"\\/bfnrt", to = "\"\\/\b\f\n\r\t";
                size_t k = from.find(e);
                if (k == std::string::npos) fail("unsupported escape");  // \u: not in hand.json
                c = to[k];
            }
            out += c;
        }
        expect('"');
        return out;
    }
    Json value() {
        space();
        if (i_ >= s_.size()) fail("unexpected end");
        Json v;
        char c = s_[i_];
        if (c == '{') {
            v.type = Json::Type::Object;
            ++i_;
            if (take('}')) return v;
            do {
                space();
                std::string key = str();
                expect(':');
                v.object[key] = value();
            } while (take(','));
            expect('}');
        } else if (c == '[') {
            v.type = Json::Type::Array;
            ++i_;
            if (take(']')) return v;
            do v.array.push_back(value());
            while (take(','));
            expect(']');
        } else if (c == '"') {
            v.type = Json::Type::String;
            v.string = str();
        } else if (word("null")) {
        } else if (word("true")) {
            v.type = Json::Type::Bool;
            v.boolean = true;
        } else if (word("false")) {
            v.type = Json::Type::Bool;
        } else {
            size_t end = i_;
            while (end < s_.size() && std::strchr("+-0123456789.eE", s_[end])) ++end;
            if (end == i_) fail("unexpected character");
            v.type = Json::Type::Number;
            // stod follows the C locale's decimal point only if the app changed it; hand.json
            // numbers are plain, so parse them with a classic-locale stream.
            std::istringstream in(s_.substr(i_, end - i_));
            in.imbue(std::locale::classic());
            in >> v.number;
            i_ = end;
        }
        return v;
    }
    const std::string& s_;
    size_t i_ = 0;
};

std::string folder_of(const std::string& path) {
    size_t k = path.find_last_of("/\\");
    return k == std::string::npos ? std::string() : path.substr(0, k + 1);
}

}  // namespace

ModelInfo read_model_info(const std::string& sidecar_path) {
    std::ifstream in(sidecar_path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open " + sidecar_path +
                                 " (write it with python -m training.deploy MODEL.onnx --out DIR)");
    std::stringstream buffer;
    buffer << in.rdbuf();
    ModelInfo info;
    try {
        Json j = JsonParser(buffer.str()).parse();
        if (j.at("layout").number != 1)
            throw std::runtime_error("layout " + std::to_string(j.at("layout").number) +
                                     " is newer than this reader (1)");
        info.format = static_cast<int>(j.at("format").number);
        info.stride = static_cast<int>(j.at("stride").number);
        info.threshold = static_cast<float>(j.at("threshold").number);
        if (info.format >= 2)
            info.open_threshold = static_cast<float>(j.at("open_threshold").number);
        for (const Json& name : j.at("outputs").array) info.outputs.push_back(name.string);
        auto file = [&](const Json& m) {
            ModelInfo::File f;
            f.path = folder_of(sidecar_path) + m.at("file").string;
            f.width = static_cast<int>(m.at("input_size").array.at(0).number);
            f.height = static_cast<int>(m.at("input_size").array.at(1).number);
            return f;
        };
        for (const Json& m : j.at("models").array) info.models.push_back(file(m));
        if (j.has("look")) {
            const Json& l = j.at("look");
            ModelInfo::Look look;
            look.model = file(l);
            look.span = static_cast<float>(l.at("span").number);
            look.floor = static_cast<float>(l.at("floor").number);
            look.looks = static_cast<int>(l.at("looks").number);
            if (look.model.width != look.model.height || look.span <= 0 || look.looks < 0)
                throw std::runtime_error("look needs a square input, span > 0 and looks >= 0");
            info.look = look;
        }
    } catch (const std::exception& e) {
        throw std::runtime_error(sidecar_path + ": " + e.what());
    }
    if (info.format < 1 || info.format > 2 || info.stride < 1 || info.models.empty() ||
        info.outputs.empty() || info.outputs[0] != "heatmap")
        throw std::runtime_error(sidecar_path +
                                 ": needs format 1 or 2, stride >= 1, outputs starting with "
                                 "\"heatmap\" and at least one model");
    return info;
}

std::vector<Peak> find_peaks(const cv::Mat& heat, float threshold, int max_peaks) {
    CV_Assert(heat.type() == CV_32F && heat.dims == 2);
    const int rows = heat.rows, cols = heat.cols;
    const float outside = -std::numeric_limits<float>::infinity();
    // -inf outside the grid: a border cell can be a peak, and the window minimum ignores it
    auto at = [&](int r, int c) {
        return r < 0 || c < 0 || r >= rows || c >= cols ? outside : heat.at<float>(r, c);
    };
    std::vector<Peak> peaks;
    for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
            const float v = heat.at<float>(r, c);
            if (!(v >= threshold)) continue;
            // Ties: beat the neighbours before in raster order strictly, those after or equal,
            // so a flat plateau yields exactly one peak (as handplay/peaks.py).
            bool keep = true;
            for (int k = 0; k < 9 && keep; ++k) {
                if (k == 4) continue;
                const float n = at(r + k / 3 - 1, c + k % 3 - 1);
                keep = k < 4 ? v > n : v >= n;
            }
            if (keep) peaks.push_back({static_cast<float>(c), static_cast<float>(r), v, r, c});
        }
    }
    // strongest first; equal scores keep raster order (numpy's stable argsort)
    std::stable_sort(peaks.begin(), peaks.end(),
                     [](const Peak& a, const Peak& b) { return a.score > b.score; });
    if (static_cast<int>(peaks.size()) > max_peaks) peaks.resize(std::max(0, max_peaks));
    for (Peak& p : peaks) {
        // 3x3 weighted average of the cell centres; weights minus the window's minimum, since
        // raw values (never zero at the neighbours) pull the average toward the centre cell.
        float lowest = std::numeric_limits<float>::infinity();
        for (int dr = -1; dr <= 1; ++dr)
            for (int dc = -1; dc <= 1; ++dc)
                if (std::isfinite(at(p.row + dr, p.col + dc)))
                    lowest = std::min(lowest, at(p.row + dr, p.col + dc));
        float total = 0, sx = 0, sy = 0;
        for (int dr = -1; dr <= 1; ++dr) {
            for (int dc = -1; dc <= 1; ++dc) {
                const float v = at(p.row + dr, p.col + dc);
                const float w = std::isfinite(v) ? v - lowest : 0.0f;
                total += w;
                sx += w * dc;
                sy += w * dr;
            }
        }
        if (total > 0) {
            p.x += sx / total;
            p.y += sy / total;
        }
    }
    return peaks;
}

namespace {

// Radius (cells) of a peak's blob when the model has no size output: the cells within 7 of the
// peak at or above half its value, as the area of a disc (handplay.peaks.blob_radius).
float blob_radius(const cv::Mat& heat, const Peak& p, int reach = 7) {
    int area = 0;
    for (int r = p.row - reach; r <= p.row + reach; ++r)
        for (int c = p.col - reach; c <= p.col + reach; ++c) {
            const bool inside = r >= 0 && c >= 0 && r < heat.rows && c < heat.cols;
            const float v = inside ? heat.at<float>(r, c) : 0.0f;
            area += v >= 0.5f * p.score;
        }
    return std::sqrt(static_cast<float>(area) / static_cast<float>(CV_PI));
}

// The crop's top-left frame pixel (handplay.detector.look_origin).
cv::Point look_origin(double x, double y, double scale, int side) {
    return {static_cast<int>(std::floor(x - side / (2 * scale) + 1.0)),
            static_cast<int>(std::floor(y - side / (2 * scale) + 1.0))};
}

// The second look's patch (handplay.detector.look_patch): cv::resize (INTER_LINEAR, as the
// letterbox) of the frame pixels from look_origin (x0, y0) at fx = (S / 2) / (x - x0 + 0.5),
// fy likewise, so (x, y) is exactly the patch's middle; black outside the frame; written into
// `out` as RGB 0..1 planes (1x3xSxS). A crop and a resize rather than one cv::warpAffine:
// resize gives the same pixels in every OpenCV version, the warps do not, and the Python
// detector makes the same patch.
void look_patch(const cv::Mat& frame, double x, double y, double scale, float* out, int side) {
    const int w = frame.cols, h = frame.rows;
    const cv::Point origin = look_origin(x, y, scale, side);
    const int x0 = origin.x, y0 = origin.y;
    const double fx = side / 2.0 / (x - x0 + 0.5), fy = side / 2.0 / (y - y0 + 0.5);
    // frame px in the crop: the resize then makes at least side px
    const int span_x = static_cast<int>(std::ceil(side / fx)) + 1;
    const int span_y = static_cast<int>(std::ceil(side / fy)) + 1;
    cv::Mat region;
    if (x0 >= 0 && y0 >= 0 && x0 + span_x <= w && y0 + span_y <= h) {
        region = frame(cv::Rect(x0, y0, span_x, span_y));  // a view
    } else {  // near an edge: the part inside the frame on black
        region = cv::Mat::zeros(span_y, span_x, CV_8UC3);
        const cv::Rect inside = cv::Rect(x0, y0, span_x, span_y) & cv::Rect(0, 0, w, h);
        if (inside.area() > 0) frame(inside).copyTo(region(inside - cv::Point(x0, y0)));
    }
    cv::Mat patch;
    cv::resize(region, patch, cv::Size(), fx, fy, cv::INTER_LINEAR);
    CV_Assert(patch.rows >= side && patch.cols >= side);
    const float scale255 = static_cast<float>(1.0 / 255.0);
    const size_t plane = static_cast<size_t>(side) * side;
    for (int i = 0; i < side; ++i) {
        const uchar* src = patch.ptr<uchar>(i);
        for (int j = 0; j < side; ++j)
            for (int ch = 0; ch < 3; ++ch)  // BGR -> RGB planes
                out[ch * plane + static_cast<size_t>(i) * side + j] =
                    static_cast<float>(src[3 * j + 2 - ch]) * scale255;
    }
}

// Output `name` of the last forward as a rows x cols grid (a view), or empty if there is none.
cv::Mat grid(std::vector<cv::Mat>& outs, const std::vector<std::string>& names,
             const std::string& name, int rows, int cols) {
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return cv::Mat(rows, cols, CV_32F, outs[i].ptr<float>());
    return cv::Mat();
}

}  // namespace

Detector::Detector(const std::string& sidecar_path, int max_hands_)
    : info_(read_model_info(sidecar_path)) {
    max_hands = max_hands_;
    threshold = info_.threshold;
    open_threshold = info_.open_threshold;
    auto load = [&](const ModelInfo::File& f) {
        if (f.width % info_.stride || f.height % info_.stride)
            throw std::runtime_error(f.path + ": input size not a multiple of the stride");
        Model m;
        m.net = cv::dnn::readNetFromONNX(f.path);
        m.net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        m.net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        m.width = f.width;
        m.height = f.height;
        m.canvas = cv::Mat::zeros(f.height, f.width, CV_8UC3);
        const int shape[] = {1, 3, f.height, f.width};
        m.blob.create(4, shape, CV_32F);
        return m;
    };
    for (const ModelInfo::File& f : info_.models) models_.push_back(load(f));
    if (info_.look) {
        look_model_ = load(info_.look->model);
        looks = info_.look->looks;
    }
}

Detector::Model& Detector::model_for(int frame_w, int frame_h) {
    Model& main = models_.front();
    // The Python rule: a frame whose orientation differs from the input's takes the turned input.
    if (match_orientation && (frame_h > frame_w) != (main.height > main.width)) {
        for (Model& m : models_)
            if (m.width == main.height && m.height == main.width) return m;
    }
    return main;
}

std::vector<Detection> Detector::detect(const cv::Mat& frame) {
    CV_Assert(!frame.empty() && frame.type() == CV_8UC3);
    const int w = frame.cols, h = frame.rows;
    Model& m = model_for(w, h);
    const int stride = info_.stride;

    // 1. letterbox (handplay.contract.letterbox): top-left, black, INTER_LINEAR. nearbyint
    //    rounds halves to even, as Python's round() does.
    const double s = std::min(static_cast<double>(m.width) / w, static_cast<double>(m.height) / h);
    const int rw = std::min(m.width, static_cast<int>(std::nearbyint(w * s)));
    const int rh = std::min(m.height, static_cast<int>(std::nearbyint(h * s)));
    cv::Mat roi = m.canvas(cv::Rect(0, 0, rw, rh));
    // fx = fy = s and no size: OpenCV then samples at exactly s (given a size it would use
    // rw / w, rh / h) and makes round(w * s) x round(h * s), the roi's size, in place
    cv::resize(frame, roi, cv::Size(), s, s, cv::INTER_LINEAR);
    CV_Assert(roi.data == m.canvas.data);  // resized in place, not into a new buffer
    if (rh < m.height) m.canvas.rowRange(rh, m.height).setTo(cv::Scalar::all(0));
    if (rw < m.width) m.canvas(cv::Rect(rw, 0, m.width - rw, rh)).setTo(cv::Scalar::all(0));

    // 2.-3. input and inference: each output is 1x1xhxw
    run(m);
    const int gh = m.height / stride, gw = m.width / stride;
    const cv::Mat heat = grid(outs_, info_.outputs, "heatmap", gh, gw);
    const cv::Mat size = grid(outs_, info_.outputs, "size", gh, gw);
    const cv::Mat open = grid(outs_, info_.outputs, "open", gh, gw);

    // 4.-5. peaks on the cells that cover the frame (the rest is padding)
    const int rows = std::min(gh, static_cast<int>(std::ceil(h * s / stride)));
    const int cols = std::min(gw, static_cast<int>(std::ceil(w * s / stride)));
    const cv::Mat valid = heat(cv::Rect(0, 0, cols, rows));
    // a look can raise a candidate's score as well as lower it: find them below the threshold
    const bool look = looks > 0 && look_model_;
    const float floor = look ? std::min(threshold, info_.look->floor) : threshold;
    std::vector<Candidate> found;
    for (const Peak& p : find_peaks(valid, floor, max_hands)) {
        // 6. radius (input px) and open at the peak cell, then input px -> frame px
        const float radius_in =
            size.empty() ? blob_radius(valid, p) * stride : size.at<float>(p.row, p.col);
        Candidate c{((p.x + 0.5) * stride) / s - 0.5, ((p.y + 0.5) * stride) / s - 0.5,
                    std::max(radius_in, 1.0f) / s, p.score, std::nullopt};
        if (!open.empty()) c.open = open.at<float>(p.row, p.col);
        found.push_back(c);
    }
    // 7. the second look
    if (look && !found.empty()) second_look(frame, found, s);
    std::vector<Detection> hands;
    for (const Candidate& c : found) {
        if (!(c.score >= threshold)) continue;
        Detection d;
        d.x = static_cast<float>(c.x);
        d.y = static_cast<float>(c.y);
        d.radius = static_cast<float>(c.radius);
        d.score = c.score;
        d.open = c.open;
        hands.push_back(d);
    }
    return hands;
}

void Detector::second_look(const cv::Mat& frame, std::vector<Candidate>& found, double s) {
    const ModelInfo::Look& cfg = *info_.look;
    Model& m = *look_model_;
    const int side = m.width, stride = info_.stride, g = side / stride;
    // only where the patch magnifies: a hand S / span input px in radius or more is left alone
    const double small = side / static_cast<double>(cfg.span) / s;
    int done = 0;
    for (Candidate& c : found) {  // strongest first
        if (done >= looks) break;
        if (!(c.score >= cfg.floor) || !(c.radius < small)) continue;
        ++done;
        // centre to 1/64 px and radius to 1/16 px, as the Python detector: a 1e-6 difference in
        // the outputs between runtimes then gives the same patch
        const double x = std::floor(c.x * 64 + 0.5) / 64, y = std::floor(c.y * 64 + 0.5) / 64;
        const double radius = std::floor(c.radius * 16 + 0.5) / 16;
        look_patch(frame, x, y, side / (cfg.span * radius), m.blob.ptr<float>(), side);
        m.net.setInput(m.blob, "image");
        m.net.forward(outs_, info_.outputs);
        const cv::Mat heat = grid(outs_, info_.outputs, "heatmap", g, g);
        const cv::Mat open = grid(outs_, info_.outputs, "open", g, g);
        // the hand centre is the patch's middle, the corner of cells row0, row0 + 1 (and cols)
        const int row0 = g / 2 - 1, col0 = g / 2 - 1;
        // the largest of the 4x4 cells around the centre: the frame pass's centre can be a cell
        // or so off at this scale
        double second = 0;
        cv::minMaxLoc(heat(cv::Rect(col0 - 1, row0 - 1, 4, 4)), nullptr, &second);
        if (!open.empty()) {
            float sw = 0, so = 0, sum_o = 0;
            for (int r = row0; r <= row0 + 1; ++r)
                for (int k = col0; k <= col0 + 1; ++k) {
                    sw += heat.at<float>(r, k);
                    so += heat.at<float>(r, k) * open.at<float>(r, k);
                    sum_o += open.at<float>(r, k);
                }
            c.open = sw > 1e-6f ? so / sw : sum_o / 4;
        }
        c.score = static_cast<float>((static_cast<double>(c.score) + second) / 2);
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const Candidate& p, const Candidate& q) { return p.score > q.score; });
}

void Detector::run(Model& m) {
    // BGR uint8 HxWx3 -> RGB float 1x3xHxW, value * float(1/255) (handplay.contract.to_input)
    const float scale = static_cast<float>(1.0 / 255.0);
    const size_t plane = static_cast<size_t>(m.width) * m.height;
    float* dst = m.blob.ptr<float>();
    for (int y = 0; y < m.height; ++y) {
        const uchar* src = m.canvas.ptr<uchar>(y);
        for (int x = 0; x < m.width; ++x) {
            const size_t k = static_cast<size_t>(y) * m.width + x;
            dst[k] = static_cast<float>(src[3 * x + 2]) * scale;  // R
            dst[plane + k] = static_cast<float>(src[3 * x + 1]) * scale;  // G
            dst[2 * plane + k] = static_cast<float>(src[3 * x]) * scale;  // B
        }
    }
    m.net.setInput(m.blob, "image");
    m.net.forward(outs_, info_.outputs);
}

}  // namespace handplay
