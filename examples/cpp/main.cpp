// handplay_detect: hand positions from images, a video file or a camera, one JSON line each.
//
//   handplay_detect [--model models/hand.json] IMAGE...
//       {"image": PATH, "hands": [{"x": .., "y": .., "radius": .., "score": .., "open": ..}]}
//   handplay_detect [--model ...] --source 0|VIDEO [--max-frames N]
//       {"frame": I, "hands": [...]}            (one line per frame)
//
// Positions and radii are in frame pixels (origin top-left, y down, not mirrored); "open" is
// null for a format-1 model. Options: --threads N (OpenCV threads, default 1), --threshold T,
// --max-hands K, --looks N (second looks a frame; default hand.json's, 0 = the frame pass only),
// --repeat N (detect each image N times and print the median ms to stderr).
#include "handplay_detector.hpp"

#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#ifndef HANDPLAY_DEFAULT_MODEL
#define HANDPLAY_DEFAULT_MODEL "models/hand.json"
#endif

namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);  // enough digits to compare floats exactly
    return buf;
}

std::string hands_json(const std::vector<handplay::Detection>& hands) {
    std::string out = "[";
    for (size_t i = 0; i < hands.size(); ++i) {
        const handplay::Detection& d = hands[i];
        out += (i ? ", " : "");
        out += "{\"x\": " + json_number(d.x) + ", \"y\": " + json_number(d.y) +
               ", \"radius\": " + json_number(d.radius) + ", \"score\": " + json_number(d.score) +
               ", \"open\": " + (d.open ? json_number(*d.open) : std::string("null")) + "}";
    }
    return out + "]";
}

int usage(const char* why) {
    std::cerr << "handplay_detect: " << why << "\n"
              << "usage: handplay_detect [--model hand.json] [--threads N] [--threshold T] "
                 "[--max-hands K] [--looks N] [--repeat N] IMAGE...\n"
                 "       handplay_detect [--model hand.json] --source 0|VIDEO [--max-frames N]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string model = HANDPLAY_DEFAULT_MODEL, source;
    std::vector<std::string> images;
    int threads = 1, max_hands = 8, repeat = 1, looks = -1;
    long max_frames = -1;
    float threshold = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) std::exit(usage((a + " needs a value").c_str()));
            return argv[++i];
        };
        if (a == "--model") model = next();
        else if (a == "--source") source = next();
        else if (a == "--threads") threads = std::atoi(next().c_str());
        else if (a == "--threshold") threshold = std::strtof(next().c_str(), nullptr);
        else if (a == "--max-hands") max_hands = std::atoi(next().c_str());
        else if (a == "--looks") looks = std::atoi(next().c_str());
        else if (a == "--max-frames") max_frames = std::atol(next().c_str());
        else if (a == "--repeat") repeat = std::max(1, std::atoi(next().c_str()));
        else if (a == "-h" || a == "--help") return usage("hand positions as JSON lines"), 0;
        else if (a.rfind("--", 0) == 0) return usage(("unknown option " + a).c_str());
        else images.push_back(a);
    }
    if (source.empty() == images.empty()) return usage("give IMAGE... or --source, not both");
    if (threads < 1) return usage("--threads must be at least 1");
    // One thread by default: the app (a game) needs the other cores; the Python runtime's default.
    cv::setNumThreads(threads);

    try {
        handplay::Detector detector(model, max_hands);
        if (threshold > 0) detector.threshold = threshold;
        if (looks >= 0) detector.looks = looks;
        int status = 0;
        for (const std::string& path : images) {
            const cv::Mat frame = cv::imread(path, cv::IMREAD_COLOR);
            if (frame.empty()) {
                std::cerr << "handplay_detect: cannot read image " << path << "\n";
                status = 1;
                continue;
            }
            std::vector<handplay::Detection> hands;
            std::vector<double> ms;
            for (int k = 0; k < repeat; ++k) {
                const auto t0 = std::chrono::steady_clock::now();
                hands = detector.detect(frame);
                const auto t1 = std::chrono::steady_clock::now();
                ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            }
            std::cout << "{\"image\": " << json_string(path) << ", \"hands\": " << hands_json(hands)
                      << "}" << std::endl;
            if (repeat > 1) {
                std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
                std::cerr << "detect_ms_median " << ms[ms.size() / 2] << " " << path << "\n";
            }
        }
        if (!source.empty()) {
            cv::VideoCapture cap;
            const bool index = source.find_first_not_of("0123456789") == std::string::npos;
            if (index) cap.open(std::atoi(source.c_str()));
            else cap.open(source);
            if (!cap.isOpened()) {
                std::cerr << "handplay_detect: cannot open " << (index ? "camera " : "video ")
                          << source << "\n";
                return 1;
            }
            cv::Mat frame;
            for (long n = 0; (max_frames < 0 || n < max_frames) && cap.read(frame); ++n)
                std::cout << "{\"frame\": " << n << ", \"hands\": "
                          << hands_json(detector.detect(frame)) << "}" << std::endl;
        }
        return status;
    } catch (const std::exception& e) {  // cv::Exception is a std::exception
        std::cerr << "handplay_detect: " << e.what() << "\n";
        return 1;
    }
}
