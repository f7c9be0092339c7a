// handplay_detector.hpp - hand detection with a handplay model and OpenCV's dnn (OpenCV >= 4.6).
//
// Copy this file and handplay_detector.cpp into your app, and the model folder
// (models/hand.json + the hand_deploy_*.onnx files it lists). Link OpenCV's core, imgproc and
// dnn. It does what the Python handplay.Detector does, step for step, and a test
// (tests/test_cpp_example.py) checks it finds the same hands:
//
//   1. letterbox: scale the frame by s = min(W_in / w, H_in / h) with INTER_LINEAR, put it at
//      the top-left of a black W_in x H_in canvas. A portrait frame (taller than wide) goes into
//      the portrait model when hand.json lists one (the Python detector's orientation rule);
//   2. input: RGB, float 0..1, 1x3xH_inxW_in;
//   3. the model gives heatmap (0..1), size (hand radius in input pixels) and, in format 2,
//      open (0..1), each 1x1x(H_in/stride)x(W_in/stride);
//   4. peaks on the part of the heatmap that covers the frame: 3x3 non-maximum suppression (a
//      cell must beat its neighbours before it in raster order and at least equal those after
//      it, so a flat plateau gives one peak), the threshold, the strongest max_hands;
//   5. sub-cell position: the 3x3 weighted average of cell centres, weights = values minus the
//      window's minimum;
//   6. radius and open read at the peak cell; back to frame pixels:
//      x_frame = ((x_cell + 0.5) * stride) / s - 0.5 (pixel centres at integer coordinates);
//   7. the second look, when hand.json has a "look" entry: the strongest candidates (peaks from
//      look.floor up, which step 4 finds even below the threshold; at most `looks`; only those
//      under S / span input pixels in radius) are each cut out (a square of frame pixels, black
//      outside the frame) and resized (INTER_LINEAR) into an S x S patch about span radii
//      wide, centred on the candidate, and run through the look model;
//      the score becomes the mean of the frame peak and the patch's (the largest of the 4x4
//      centre cells), open the patch's (heat-weighted over the 2x2 centre cells); then the
//      threshold, strongest first again.
//
// Threads: OpenCV's dnn uses cv::setNumThreads(); the example sets 1 (the game keeps the rest).
// A Detector is not thread-safe: use one per thread.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <optional>
#include <string>
#include <vector>

namespace handplay {

// One detected hand, in frame pixels (origin top-left, y down, not mirrored).
struct Detection {
    float x = 0;                // centre column, px (sub-pixel)
    float y = 0;                // centre row, px
    float radius = 0;           // hand radius, px
    float score = 0;            // heatmap peak value, 0..1
    std::optional<float> open;  // format 2: probability the hand is open and facing; else empty
};

// A peak on the heatmap grid: cell (row, col) has its centre at (x, y) = (col, row).
struct Peak {
    float x = 0, y = 0;  // sub-cell position, cells
    float score = 0;     // heatmap value at the peak cell
    int row = 0, col = 0;
};

// The model's settings, read from the sidecar hand.json (OpenCV's dnn cannot read the ONNX
// metadata, so training.deploy writes them beside the model).
struct ModelInfo {
    int format = 1;                  // 1: open hands only; 2: every hand + the open output
    int stride = 4;                  // input pixels per output cell
    float threshold = 0.5f;          // recommended peak threshold
    float open_threshold = 0.5f;     // format 2: open above this
    std::vector<std::string> outputs;  // "heatmap", then "size" and "open" when present
    struct File {
        std::string path;  // the deployment .onnx, resolved beside hand.json
        int width = 0, height = 0;
    };
    std::vector<File> models;  // the first is the main input size; a second may be its turn
    struct Look {
        File model;          // the S x S patch model
        float span = 3.0f;   // patch side in hand radii
        float floor = 0.3f;  // candidates from this score up
        int looks = 4;       // at most this many a frame, by default
    };
    std::optional<Look> look;  // absent: the frame pass only (step 7 off)
};

// Reads hand.json. Throws std::runtime_error naming the file and the problem.
ModelInfo read_model_info(const std::string& sidecar_path);

// Peaks of a rows x cols CV_32F heatmap at or above threshold, strongest first (see 4. and 5.).
std::vector<Peak> find_peaks(const cv::Mat& heat, float threshold, int max_peaks);

class Detector {
public:
    // sidecar_path: the hand.json written by `python -m training.deploy`.
    // Throws std::runtime_error (bad sidecar) or cv::Exception (OpenCV cannot load the model).
    explicit Detector(const std::string& sidecar_path, int max_hands = 8);

    // Hands in a BGR 8-bit 3-channel frame (as cv::VideoCapture gives), strongest first.
    std::vector<Detection> detect(const cv::Mat& frame_bgr);

    const ModelInfo& info() const { return info_; }
    float threshold = 0.5f;       // peak threshold; the model's by default
    float open_threshold = 0.5f;  // format 2: a hand counts as open above this
    int max_hands = 8;            // at most this many detections per frame
    bool match_orientation = true;  // portrait frames into the portrait model, if there is one
    int looks = 0;  // step 7: at most this many looks a frame; hand.json's look.looks, 0 = off

private:
    struct Model {
        cv::dnn::Net net;
        int width = 0, height = 0;
        cv::Mat canvas;  // reused: H_in x W_in CV_8UC3
        cv::Mat blob;    // reused: 1x3xH_inxW_in CV_32F
    };
    Model& model_for(int frame_w, int frame_h);
    // A frame candidate, kept in double as the Python detector keeps it (the look's warp
    // depends on the exact centre and radius).
    struct Candidate {
        double x, y, radius;
        float score;
        std::optional<float> open;
    };
    void second_look(const cv::Mat& frame, std::vector<Candidate>& found, double s);
    void run(Model& m);  // m.canvas -> m.blob -> forward into outs_

    ModelInfo info_;
    std::vector<Model> models_;
    std::optional<Model> look_model_;
    std::vector<cv::Mat> outs_;
};

}  // namespace handplay
